import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../support/collect.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';
import { openSse } from '../support/sse.js';

let p: PaddockProcess;
let client: Anthropic;
let envId: string;
let n = 0;

beforeAll(async () => {
  p = await startPaddock();
  client = p.client;
  envId = (await client.beta.environments.create({ name: 'sessions-env' })).id;
});
afterAll(async () => {
  await p?.stop();
});

const newAgent = (extra: Partial<Anthropic.Beta.AgentCreateParams> = {}) =>
  client.beta.agents.create({ name: `agent-${++n}`, model: 'claude-opus-4-7', system: 'v1 system', ...extra });

describe('sessions: create', () => {
  it('with an agent id string: latest version, idle, full session object', async () => {
    const a = await newAgent();
    await client.beta.agents.update(a.id, { system: 'v2 system' });
    const s = await client.beta.sessions.create({ agent: a.id, environment_id: envId });
    expect(s.id).toMatch(/^sesn_01/);
    expect(s).toMatchObject({
      type: 'session',
      status: 'idle',
      environment_id: envId,
      title: null,
      metadata: {},
      vault_ids: [],
      resources: [],
      archived_at: null,
      agent: { type: 'agent', id: a.id, version: 2, system: 'v2 system', name: a.name },
    });
    expect(s.agent.model.id).toBe('claude-opus-4-7');
    expect(s.agent).not.toHaveProperty('metadata');
    expect(s.usage).toBeDefined();
    expect(s.stats).toBeDefined();
  });

  it('pinned to a version with {type:"agent", id, version}', async () => {
    const a = await newAgent();
    await client.beta.agents.update(a.id, { system: 'v2 system' });
    const s = await client.beta.sessions.create({ agent: { type: 'agent', id: a.id, version: 1 }, environment_id: envId });
    expect(s.agent).toMatchObject({ id: a.id, version: 1, system: 'v1 system' });
    const err = await client.beta.sessions.create({ agent: { type: 'agent', id: a.id, version: 7 }, environment_id: envId }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('agent_with_overrides: omitted keeps, given replaces, null or [] clears', async () => {
    const a = await newAgent({
      tools: [{ type: 'agent_toolset_20260401' }, { type: 'mcp_toolset', mcp_server_name: 'docs' }],
      mcp_servers: [{ type: 'url', name: 'docs', url: 'https://docs.example/mcp' }],
    });
    const kept = await client.beta.sessions.create({ agent: { type: 'agent_with_overrides', id: a.id }, environment_id: envId });
    expect(kept.agent).toMatchObject({ system: 'v1 system', tools: a.tools, mcp_servers: a.mcp_servers, model: a.model });

    const replaced = await client.beta.sessions.create({
      agent: { type: 'agent_with_overrides', id: a.id, version: 1, model: 'claude-haiku-4-5', system: null, tools: [], mcp_servers: [] },
      environment_id: envId,
    });
    expect(replaced.agent).toMatchObject({ id: a.id, version: 1, system: null, tools: [], mcp_servers: [] });
    expect(replaced.agent.model.id).toBe('claude-haiku-4-5');

    // Overrides obey the agent's own rules: a server must be referenced by a toolset.
    const err = await client.beta.sessions.create({ agent: { type: 'agent_with_overrides', id: a.id, tools: [] }, environment_id: envId }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('the agent snapshot is frozen at creation, even after the agent is updated', async () => {
    const a = await newAgent();
    const s = await client.beta.sessions.create({ agent: a.id, environment_id: envId });
    await client.beta.agents.update(a.id, { system: 'changed later', tools: [{ type: 'agent_toolset_20260401' }] });
    const again = await client.beta.sessions.retrieve(s.id);
    expect(again.agent).toEqual(s.agent);
    expect(again.agent.system).toBe('v1 system');
  });

  it('refuses archived agents and archived environments; unknown ones are NotFound', async () => {
    const a = await newAgent();
    await client.beta.agents.archive(a.id);
    await expect(client.beta.sessions.create({ agent: a.id, environment_id: envId })).rejects.toBeInstanceOf(Anthropic.BadRequestError);

    const live = await newAgent();
    const env = await client.beta.environments.create({ name: 'archived-env' });
    await client.beta.environments.archive(env.id);
    const err = await client.beta.sessions.create({ agent: live.id, environment_id: env.id }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.details?.error_code).toBe('environment_archived');

    await expect(client.beta.sessions.create({ agent: 'agent_01missing', environment_id: envId })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.beta.sessions.create({ agent: live.id, environment_id: 'env_01missing' })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('keeps title, metadata and initial_events (stored as events in order)', async () => {
    const a = await newAgent();
    const s = await client.beta.sessions.create({
      agent: a.id,
      environment_id: envId,
      title: 'with extras',
      metadata: { ticket: 'T-1' },
      initial_events: [
        { type: 'user.message', content: [{ type: 'text', text: 'first' }] },
        { type: 'user.message', content: [{ type: 'text', text: 'second' }] },
      ],
    });
    expect(s).toMatchObject({ title: 'with extras', metadata: { ticket: 'T-1' } });
    const msgs = await collect(client.beta.sessions.events.list(s.id, { types: ['user.message'] }));
    expect(msgs.map((e) => (e as any).content[0].text)).toEqual(['first', 'second']);
    for (const e of msgs) {
      expect(e.id).toMatch(/^sevt_01/);
      expect(e.processed_at).toBeTruthy();
    }
    const bad = await client.beta.sessions.create({ agent: a.id, environment_id: envId, initial_events: [{ type: 'user.interrupt' } as any] }).catch((e) => e);
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('sessions: retrieve, update, archive, delete', () => {
  it('update patches title and metadata and records a session.updated event', async () => {
    const a = await newAgent();
    const s = await client.beta.sessions.create({ agent: a.id, environment_id: envId, title: 'old', metadata: { keep: 'k', drop: 'd' } });
    const u = await client.beta.sessions.update(s.id, { title: 'new', metadata: { drop: null, add: 'a' } as any });
    expect(u).toMatchObject({ id: s.id, title: 'new', metadata: { keep: 'k', add: 'a' } });
    expect(await client.beta.sessions.retrieve(s.id)).toMatchObject({ title: 'new', metadata: { keep: 'k', add: 'a' } });
    const updates = await collect(client.beta.sessions.events.list(s.id, { types: ['session.updated'] }));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ title: 'new', metadata: { keep: 'k', add: 'a' } });
    expect(updates[0]).not.toHaveProperty('agent');

    const cleared = await client.beta.sessions.update(s.id, { title: null });
    expect(cleared.title).toBeNull();
  });

  it('archive returns the session with archived_at; archived sessions refuse events with 409', async () => {
    const a = await newAgent();
    const s = await client.beta.sessions.create({ agent: a.id, environment_id: envId });
    const archived = await client.beta.sessions.archive(s.id);
    expect(archived.id).toBe(s.id);
    expect(archived.archived_at).not.toBeNull();
    const err = await client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.ConflictError);
    expect(err.headers.get('x-should-retry')).toBe('false');
  });

  it('delete answers session_deleted; open streams get session.deleted and then end', async () => {
    const a = await newAgent();
    const s = await client.beta.sessions.create({ agent: a.id, environment_id: envId });
    const sdkStream = await client.beta.sessions.events.stream(s.id);
    const rawStream = await openSse(`${p.url}/v1/sessions/${s.id}/events/stream`, p.apiKey);
    const seen: string[] = [];
    const consumed = (async () => {
      for await (const e of sdkStream) seen.push(e.type);
    })();
    // Both streams have their headers, so the server has subscribed them.
    expect(await client.beta.sessions.delete(s.id)).toEqual({ id: s.id, type: 'session_deleted' });
    await consumed; // the SDK iterator finishes because the server closed the stream
    expect(seen.at(-1)).toBe('session.deleted');
    const frames = await rawStream.until((f) => f.event === 'session.deleted');
    expect(JSON.parse(frames.at(-1)!.data)).toMatchObject({ type: 'session.deleted' });
    expect(await rawStream.next()).toBeUndefined();

    await expect(client.beta.sessions.retrieve(s.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.beta.sessions.events.list(s.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.beta.sessions.delete(s.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('sessions: list', () => {
  let agent: Anthropic.Beta.Agents.BetaManagedAgentsAgent;
  const ids: string[] = [];

  beforeAll(async () => {
    agent = await newAgent();
    for (let i = 0; i < 5; i++) {
      if (i === 3) agent = await client.beta.agents.update(agent.id, { system: 'v2' });
      ids.push((await client.beta.sessions.create({ agent: agent.id, environment_id: envId, title: `list-${i}` })).id);
    }
  });

  it('pages both ways: next_page forward, prev_page back to the same page', async () => {
    const page1 = await client.beta.sessions.list({ agent_id: agent.id, limit: 2 });
    expect(page1.data.map((s) => s.id)).toEqual([ids[4], ids[3]]);
    expect(page1.prev_page).toBeNull();
    const page2 = await client.beta.sessions.list({ agent_id: agent.id, limit: 2, page: page1.next_page! });
    expect(page2.data.map((s) => s.id)).toEqual([ids[2], ids[1]]);
    expect(page2.prev_page).toBeTruthy();
    const back = await client.beta.sessions.list({ agent_id: agent.id, limit: 2, page: page2.prev_page! });
    expect(back.data.map((s) => s.id)).toEqual([ids[4], ids[3]]);
    expect(back.prev_page).toBeNull();
    const page3 = await client.beta.sessions.list({ agent_id: agent.id, limit: 2, page: page2.next_page! });
    expect(page3.data.map((s) => s.id)).toEqual([ids[0]]);
    expect(page3.next_page).toBeNull();

    // Auto-pagination over three pages.
    expect((await collect(client.beta.sessions.list({ agent_id: agent.id, limit: 2 }))).map((s) => s.id)).toEqual([...ids].reverse());
  });

  it('order=asc, and a cursor reused with the other order is a 400', async () => {
    const asc = await collect(client.beta.sessions.list({ agent_id: agent.id, order: 'asc', limit: 2 }));
    expect(asc.map((s) => s.id)).toEqual(ids);
    const page = await client.beta.sessions.list({ agent_id: agent.id, limit: 2 });
    await expect(client.beta.sessions.list({ agent_id: agent.id, order: 'asc', page: page.next_page! })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('filters by agent_version, statuses, created_at, include_archived', async () => {
    const v1 = await collect(client.beta.sessions.list({ agent_id: agent.id, agent_version: 1 }));
    expect(v1.map((s) => s.id)).toEqual([ids[2], ids[1], ids[0]]);
    const v2 = await collect(client.beta.sessions.list({ agent_id: agent.id, agent_version: 2 }));
    expect(v2.map((s) => s.id)).toEqual([ids[4], ids[3]]);
    await expect(client.beta.sessions.list({ agent_version: 1 })).rejects.toBeInstanceOf(Anthropic.BadRequestError);

    const idle = await collect(client.beta.sessions.list({ agent_id: agent.id, statuses: ['idle'] }));
    expect(idle).toHaveLength(5);
    expect(await collect(client.beta.sessions.list({ agent_id: agent.id, statuses: ['terminated'] }))).toEqual([]);
    await expect(client.beta.sessions.list({ statuses: ['sleeping' as any] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);

    const third = await client.beta.sessions.retrieve(ids[2]);
    const fromThird = await collect(client.beta.sessions.list({ agent_id: agent.id, 'created_at[gte]': third.created_at }));
    expect(fromThird.map((s) => s.id)).toEqual(expect.arrayContaining([ids[4], ids[3], ids[2]]));
    expect(fromThird.map((s) => s.id)).not.toContain(ids[0]);
    const beforeThird = await collect(client.beta.sessions.list({ agent_id: agent.id, 'created_at[lt]': third.created_at }));
    expect(beforeThird.map((s) => s.id)).not.toContain(ids[2]);

    expect(await collect(client.beta.sessions.list({ memory_store_id: 'memstore_01none' }))).toEqual([]);
    const withStore = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: envId,
      resources: [{ type: 'memory_store', memory_store_id: 'memstore_01teamnotes' }],
    });
    expect((await collect(client.beta.sessions.list({ memory_store_id: 'memstore_01teamnotes' }))).map((s) => s.id)).toEqual([withStore.id]);
    // LIKE wildcards in the filter are matched literally.
    expect(await collect(client.beta.sessions.list({ memory_store_id: 'memstore_01team%' }))).toEqual([]);
    expect(await collect(client.beta.sessions.list({ memory_store_id: 'memstore_01teamnote_' }))).toEqual([]);
    await client.beta.sessions.delete(withStore.id);

    const extra = await client.beta.sessions.create({ agent: agent.id, environment_id: envId });
    await client.beta.sessions.archive(extra.id);
    expect((await collect(client.beta.sessions.list({ agent_id: agent.id }))).map((s) => s.id)).not.toContain(extra.id);
    expect((await collect(client.beta.sessions.list({ agent_id: agent.id, include_archived: true }))).map((s) => s.id)).toContain(extra.id);
  });

  it('accepts repeated statuses= as well as statuses[]=', async () => {
    const r = await raw(p, 'GET', `/v1/sessions?agent_id=${agent.id}&statuses=idle&statuses=running`);
    expect(r.status).toBe(200);
    expect(r.json.data).toHaveLength(5);
    expect(r.json).toHaveProperty('prev_page');
  });
});
