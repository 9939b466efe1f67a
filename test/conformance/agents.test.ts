import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { raw } from '../support/paddock.js';
import { usePaddock } from '../support/use-paddock.js';

const p = usePaddock();

const BUILTINS = ['bash', 'edit', 'read', 'write', 'glob', 'grep', 'web_fetch', 'web_search'];

describe('agents: create', () => {
  it('takes a model string and answers the full agent object at version 1', async () => {
    const a = await p.client.beta.agents.create({ name: 'plain', model: 'claude-opus-4-7' });
    expect(a.id).toMatch(/^agent_01[0-9A-Za-z]{22}$/);
    expect(a).toMatchObject({
      type: 'agent',
      name: 'plain',
      version: 1,
      description: null,
      system: null,
      archived_at: null,
      metadata: {},
      tools: [],
      mcp_servers: [],
      skills: [],
      multiagent: null,
      execution_identity: { type: 'service_account' },
    });
    expect(a.model.id).toBe('claude-opus-4-7');
    expect(a.model.effort).toBeDefined();
    expect(Date.parse(a.created_at)).not.toBeNaN();
  });

  it('takes a model object, and the extra type:"model_config" older Go SDKs send', async () => {
    const a = await p.client.beta.agents.create({ name: 'obj', model: { id: 'claude-sonnet-4-6', speed: 'fast', effort: 'low' } });
    expect(a.model).toMatchObject({ id: 'claude-sonnet-4-6', speed: 'fast', effort: { type: 'low' } });
    const b = await p.client.beta.agents.create({ name: 'go', model: { id: 'claude-opus-4-7', type: 'model_config' } as any });
    expect(b.model.id).toBe('claude-opus-4-7');
    expect(b.model).not.toHaveProperty('type');
  });

  it('expands agent_toolset_20260401 into default_config and all 8 tool configs', async () => {
    const a = await p.client.beta.agents.create({
      name: 'toolset',
      model: 'claude-opus-4-7',
      tools: [
        {
          type: 'agent_toolset_20260401',
          default_config: { permission_policy: { type: 'always_ask' } },
          configs: [
            { name: 'bash', enabled: false },
            { name: 'web_fetch', permission_policy: { type: 'always_allow' } },
          ],
        },
      ],
    });
    expect(a.tools).toHaveLength(1);
    const t = a.tools[0] as Anthropic.Beta.Agents.BetaManagedAgentsAgentToolset20260401;
    expect(t.type).toBe('agent_toolset_20260401');
    expect(t.default_config).toEqual({ enabled: true, permission_policy: { type: 'always_ask' } });
    expect(t.configs.map((c) => c.name)).toEqual(BUILTINS);
    const byName = Object.fromEntries(t.configs.map((c) => [c.name, c]));
    expect(byName.bash).toMatchObject({ type: 'bash', enabled: false, permission_policy: { type: 'always_ask' } });
    expect(byName.read).toMatchObject({ type: 'read', enabled: true, permission_policy: { type: 'always_ask' } });
    expect(byName.web_fetch).toMatchObject({ enabled: true, permission_policy: { type: 'always_allow' } });
  });

  it('accepts mcp_toolset + mcp_servers that reference each other, and custom tools', async () => {
    const a = await p.client.beta.agents.create({
      name: 'mcp',
      model: 'claude-opus-4-7',
      mcp_servers: [{ type: 'url', name: 'github', url: 'https://example.com/mcp' }],
      tools: [
        { type: 'mcp_toolset', mcp_server_name: 'github' },
        { type: 'custom', name: 'lookup_order', description: 'Find an order', input_schema: { type: 'object', properties: { id: { type: 'string' } } } },
      ],
    });
    expect(a.mcp_servers).toEqual([{ type: 'url', name: 'github', url: 'https://example.com/mcp' }]);
    expect(a.tools[0]).toMatchObject({ type: 'mcp_toolset', mcp_server_name: 'github', default_config: { enabled: true }, configs: [] });
    expect(a.tools[1]).toMatchObject({ type: 'custom', name: 'lookup_order', input_schema: { type: 'object' } });
  });

  it.each([
    ['an mcp_server no toolset references', { mcp_servers: [{ type: 'url', name: 'x', url: 'https://x.example' }] }, /not referenced/],
    ['a toolset naming an unknown server', { tools: [{ type: 'mcp_toolset', mcp_server_name: 'nope' }] }, /no MCP server named nope/],
    [
      'two custom tools with one name',
      {
        tools: [
          { type: 'custom', name: 'dup', description: 'a', input_schema: { type: 'object' } },
          { type: 'custom', name: 'dup', description: 'b', input_schema: { type: 'object' } },
        ],
      },
      /already in use/,
    ],
    ['a custom tool with a bad name', { tools: [{ type: 'custom', name: 'has space', description: 'a', input_schema: { type: 'object' } }] }, /name/],
    [
      'duplicate mcp server names',
      {
        mcp_servers: [
          { type: 'url', name: 'a', url: 'https://a.example' },
          { type: 'url', name: 'a', url: 'https://b.example' },
        ],
        tools: [{ type: 'mcp_toolset', mcp_server_name: 'a' }],
      },
      /duplicate/,
    ],
    ['an unknown tool type', { tools: [{ type: 'bogus' }] }, /type/],
    ['an empty name', { name: '' }, /name/],
    ['no model', { model: undefined }, /model/],
  ])('refuses %s with a BadRequestError', async (_what, patch, message) => {
    const err = await p.client.beta.agents.create({ name: 'bad', model: 'claude-opus-4-7', ...(patch as object) } as any).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.type).toBe('invalid_request_error');
    expect(err.error.error.message).toMatch(message);
  });
});

describe('agents: versions', () => {
  it('update makes a new immutable version only when something changed', async () => {
    const a = await p.client.beta.agents.create({ name: 'v', model: 'claude-opus-4-7', system: 'one', metadata: { team: 'x' } });
    const same = await p.client.beta.agents.update(a.id, { version: 1, system: 'one', metadata: { team: 'x' } });
    expect(same.version).toBe(1);
    const v2 = await p.client.beta.agents.update(a.id, { version: 1, system: 'two', metadata: { extra: 'y' } });
    expect(v2.version).toBe(2);
    expect(v2.system).toBe('two');
    expect(v2.metadata).toEqual({ team: 'x', extra: 'y' });
    const v3 = await p.client.beta.agents.update(a.id, { description: 'described', metadata: { team: null } as any });
    expect(v3.version).toBe(3);
    expect(v3.metadata).toEqual({ extra: 'y' });

    // Each version keeps what it had.
    expect((await p.client.beta.agents.retrieve(a.id, { version: 1 })).system).toBe('one');
    expect((await p.client.beta.agents.retrieve(a.id, { version: 2 })).description).toBeNull();
    expect((await p.client.beta.agents.retrieve(a.id)).version).toBe(3);
    const err = await p.client.beta.agents.retrieve(a.id, { version: 9 }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);

    const versions = [];
    for await (const v of p.client.beta.agents.versions.list(a.id, { limit: 2 })) versions.push(v.version);
    expect(versions).toEqual([3, 2, 1]);
  });

  it('a stale version guard is a ConflictError the SDK does not retry', async () => {
    const a = await p.client.beta.agents.create({ name: 'guard', model: 'claude-opus-4-7' });
    await p.client.beta.agents.update(a.id, { version: 1, system: 'changed' });
    let sent = 0;
    const counting: typeof fetch = (input, init) => {
      sent++;
      return fetch(input, init);
    };
    const retrying = new Anthropic({ apiKey: p.apiKey, baseURL: p.url, maxRetries: 2, fetch: counting });
    const err = await retrying.beta.agents.update(a.id, { version: 1, system: 'again' }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.ConflictError);
    expect(err.headers.get('x-should-retry')).toBe('false');
    expect(err.error.error.type).toBe('conflict_error');
    // Without x-should-retry: false the SDK would silently send the update two more times.
    expect(sent).toBe(1);
    expect((await p.client.beta.agents.retrieve(a.id)).system).toBe('changed');
  });

  it('name and model cannot be cleared; description and system clear with "" or null', async () => {
    const a = await p.client.beta.agents.create({ name: 'clear', model: 'claude-opus-4-7', description: 'd', system: 's' });
    await expect(p.client.beta.agents.update(a.id, { name: null } as any)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(p.client.beta.agents.update(a.id, { model: null } as any)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    const b = await p.client.beta.agents.update(a.id, { description: '', system: null });
    expect(b).toMatchObject({ description: null, system: null, version: 2 });
  });

  it('update of an unknown agent is a NotFoundError', async () => {
    await expect(p.client.beta.agents.update('agent_01nope', { system: 'x' })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(p.client.beta.agents.retrieve('agent_01nope')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(p.client.beta.agents.versions.list('agent_01nope')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('agents: list and archive', () => {
  it('archive hides an agent from the list unless include_archived, and refuses updates', async () => {
    const a = await p.client.beta.agents.create({ name: 'to-archive', model: 'claude-opus-4-7' });
    const archived = await p.client.beta.agents.archive(a.id);
    expect(archived.archived_at).not.toBeNull();
    expect(archived.id).toBe(a.id);
    expect((await p.client.beta.agents.retrieve(a.id)).archived_at).toBe(archived.archived_at);

    const visible = [];
    for await (const x of p.client.beta.agents.list()) visible.push(x.id);
    expect(visible).not.toContain(a.id);
    const all = [];
    for await (const x of p.client.beta.agents.list({ include_archived: true })) all.push(x.id);
    expect(all).toContain(a.id);

    await expect(p.client.beta.agents.update(a.id, { system: 'x' })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('lists newest first, pages with opaque cursors, and filters by created_at', async () => {
    const before = new Date(Date.now() - 1).toISOString();
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await p.client.beta.agents.create({ name: `page-${i}`, model: 'claude-opus-4-7' })).id);
    const after = new Date(Date.now() + 1).toISOString();

    const page = await p.client.beta.agents.list({ limit: 2, 'created_at[gte]': before });
    expect(page.data.map((a) => a.id)).toEqual([made[4], made[3]]);
    expect(page.next_page).toBeTruthy();
    expect(page).not.toHaveProperty('prev_page');

    const seen = [];
    for await (const a of p.client.beta.agents.list({ limit: 2, 'created_at[gte]': before, 'created_at[lte]': after })) seen.push(a.id);
    expect(seen).toEqual([...made].reverse());

    const none = await p.client.beta.agents.list({ 'created_at[gte]': after });
    expect(none.data).toEqual([]);
    expect(none.next_page).toBeNull();
  });
});

describe('agents: wire details', () => {
  it('accepts a numeric-string version guard and tolerates ?beta=true', async () => {
    const a = await p.client.beta.agents.create({ name: 'str-version', model: 'claude-opus-4-7' });
    const r = await raw(p, 'POST', `/v1/agents/${a.id}?beta=true`, { body: { version: '1', system: 'x' } });
    expect(r.status).toBe(200);
    expect(r.json.version).toBe(2);
  });
});
