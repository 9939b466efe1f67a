import { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, FAST_RUNTIME, idles, waitFor, waitForIdle, type Ev } from '../runtime/harness.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';
import { startTestMcpServer, type TestMcpServer } from '../support/mcp-server.js';
import { formatMismatch, SdkShapes, type Mismatch } from '../support/sdk-shapes.js';
import { openSse, type RawStream, type SseFrame } from '../support/sse.js';

/**
 * Wire exactness, proved against the SDK's own declarations: every object below is fetched live
 * from a real Paddock process and walked against the interface the official SDK 1.14 declares
 * for it (test/support/sdk-shapes.ts): required properties present, no undeclared property,
 * literals equal, unions resolved by their `type`.
 */

interface Exception {
  /** The SDK type the object is checked against, with its type argument: `PageCursorResponse<BetaFileMetadata>`. */
  type: string;
  /** The mismatch it excuses, by path, kind (and detail). */
  path: RegExp;
  kind: Mismatch['kind'];
  detail?: RegExp;
  /** Why Paddock sends it anyway. */
  reason: string;
}

/** Deliberate departures from the SDK types, each one asked for by the wire contract. */
const EXCEPTIONS: Exception[] = [
  ...['has_more', 'first_id', 'last_id'].map((field) => ({
    type: 'PageCursorResponse<BetaFileMetadata>',
    path: new RegExp(`^\\$\\.${field}$`),
    kind: 'extra' as const,
    reason: 'the 0.120 SDK pages files.list with the legacy Page scheme (has_more/first_id/last_id); wire contract §0.7 and §17.6 ask for both shapes',
  })),
  ...['BetaManagedAgentsSessionEvent', 'BetaManagedAgentsStreamSessionEvents'].map((type) => ({
    type,
    path: /^\$\.pre_compaction_tokens$/,
    kind: 'extra' as const,
    reason:
      'the concept docs promise agent.thread_context_compacted "includes pre_compaction_tokens"; advanced-features.md decides to emit it as an extra field',
  })),
  {
    type: 'BetaErrorResponse',
    path: /^\$\.error\.details$/,
    kind: 'extra',
    reason:
      'the SDK picks its error subclass from error.details.error_code (core/error.js) and declares each details shape (e.g. BetaEnvironmentArchivedErrorDetails, checked separately), but the error objects in BetaErrorObject do not list details; wire contract §0.6',
  },
  {
    type: 'BetaErrorResponse',
    path: /^\$\.error\.type$/,
    kind: 'literal',
    detail: /^"conflict_error" is none of/,
    reason:
      "a deterministic 409 is a conflict_error (wire contract §0.6, §16): the SDK's ErrorType lists it and memory-stores declares BetaManagedAgentsConflictErrorObject, which the 409's error object is checked against, but BetaErrorObject's union leaves it out",
  },
];

let shapes: SdkShapes;
let p: PaddockProcess;
let model: ScriptedModel;
let mcpServer: TestMcpServer;
const used = new Set<Exception>();

/** Asserts `value` is exactly an SDK `typeName` (less the listed exceptions). */
function expectShape(typeName: string, value: unknown, bindings?: Record<string, string>): void {
  const label = bindings ? `${typeName}<${Object.values(bindings).join(', ')}>` : typeName;
  const left = shapes.check(typeName, value, bindings).filter((m) => {
    const ex = EXCEPTIONS.find((e) => e.type === label && e.kind === m.kind && e.path.test(m.path) && (!e.detail || e.detail.test(m.detail)));
    if (ex) used.add(ex);
    return !ex;
  });
  expect.soft(left.map(formatMismatch), `${label}: ${JSON.stringify(value)}`).toEqual([]);
}

/** GET (or other) over raw HTTP: the JSON exactly as sent, with the status the test expects. */
async function json(method: string, path: string, body?: unknown, status = 200): Promise<any> {
  const r = await raw(p, method, path, { body });
  expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
  return r.json;
}

beforeAll(async () => {
  const loading = Promise.resolve().then(() => SdkShapes.load());
  model = await startScriptedModel();
  mcpServer = await startTestMcpServer({ tokens: ['shapes-mcp-token'] });
  p = await startPaddock({
    // Loopback is allowed for the live MCP server the session's turns call.
    env: {
      ANTHROPIC_BASE_URL: model.url,
      ...FAST_RUNTIME,
      PADDOCK_SANDBOX: 'none',
      PADDOCK_COMPACTION_THRESHOLD_TOKENS: '1000',
      PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
    },
  });
  shapes = await loading;
});
afterAll(async () => {
  await p?.stop();
  await model?.close();
  await mcpServer?.close();
});

// Loopback, where nothing listens (loopback is allowed here): validation probes it and finds nothing,
// and a session's turn fails to connect (tests send traffic nowhere else). Not the mcp_oauth
// credential's URL below: a vault holds one active credential per server URL.
const MCP_URL = 'http://127.0.0.1:7/mcp';

describe('the checker', () => {
  it('finds a missing, an extra, a wrong literal, a wrong type and an unknown union member in a live object', async () => {
    const env = await json('POST', '/v1/environments', {
      name: 'shapes-checker',
      config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [] } },
    });
    expect(shapes.check('BetaEnvironment', env)).toEqual([]);
    const { name: _, ...broken } = env;
    broken.surprise = 1;
    broken.type = 'environments';
    broken.metadata = { a: 5 };
    broken.config = { ...env.config, networking: { type: 'walled' } };
    expect(shapes.check('BetaEnvironment', broken).map(formatMismatch).sort()).toEqual(
      [
        '$.name: missing (required by BetaEnvironment)',
        '$.surprise: extra (BetaEnvironment declares no surprise)',
        '$.type: literal ("environments" is not "environment")',
        '$.metadata.a: type (number 5 is not string)',
        '$.config.networking.type: literal ("walled" is none of "limited" | "unrestricted")',
      ].sort(),
    );
  });
});
const text = (t: string) => ({ type: 'text' as const, text: t });

describe('agents', () => {
  it('an agent with all three tool kinds, MCP servers and skills, in every response that carries one', async () => {
    const created = await json('POST', '/v1/agents', {
      name: 'shapes-agent',
      model: { id: 'claude-sonnet-4-6', effort: 'high' },
      description: 'checks shapes',
      system: 'You are a test agent.',
      tools: [
        {
          type: 'agent_toolset_20260401',
          configs: [
            { name: 'bash', permission_policy: { type: 'always_ask' } },
            { name: 'read', permission_policy: { type: 'auto' } },
            { name: 'web_fetch', url_sources: { user_input: 'none', client_tool_results: 'all' }, allowed_domains: ['example.com'] },
            { name: 'web_search', user_location: { type: 'approximate', city: 'Berlin' } },
          ],
        },
        { type: 'mcp_toolset', mcp_server_name: 'docs', configs: [{ name: 'search', permission_policy: { type: 'always_ask' } }] },
        {
          type: 'custom',
          name: 'lookup',
          description: 'Looks a thing up',
          input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
        },
      ],
      mcp_servers: [{ type: 'url', name: 'docs', url: MCP_URL }],
      skills: [{ type: 'anthropic', skill_id: 'xlsx' }],
      metadata: { team: 'wire' },
    });
    expectShape('BetaManagedAgentsAgent', created);
    const updated = await json('POST', `/v1/agents/${created.id}`, { version: created.version, description: 'changed' });
    expectShape('BetaManagedAgentsAgent', updated);
    expectShape('BetaManagedAgentsAgent', await json('GET', `/v1/agents/${created.id}?version=1`));
    expectShape('PageCursorResponse', await json('GET', '/v1/agents?limit=1'), { Item: 'BetaManagedAgentsAgent' });
    expectShape('PageCursorResponse', await json('GET', `/v1/agents/${created.id}/versions`), { Item: 'BetaManagedAgentsAgent' });
    // Both multiagent forms: references come back pinned, and a session expands them to thread agents.
    const envId = (await json('POST', '/v1/environments', { name: 'shapes-multiagent' })).id;
    const coordinator = await json('POST', '/v1/agents', {
      name: 'shapes-coordinator',
      model: 'claude-sonnet-4-6',
      multiagent: { type: 'coordinator', agents: [created.id, { type: 'self' }, { type: 'advisor', model: 'claude-opus-4-7' }] },
    });
    const mesh = await json('POST', '/v1/agents', {
      name: 'shapes-mesh',
      model: 'claude-sonnet-4-6',
      multiagent: {
        type: 'multiagent_20261001',
        advisor: { type: 'enabled', model: 'claude-opus-4-7' },
        subagents: { type: 'enabled', predefined_agents: [{ type: 'agent', id: created.id, version: 1 }] },
        workflows: null,
      },
    });
    for (const a of [coordinator, mesh]) {
      expectShape('BetaManagedAgentsAgent', a);
      expectShape('BetaManagedAgentsSession', await json('POST', '/v1/sessions', { agent: a.id, environment_id: envId }));
    }
    expect(coordinator.multiagent.agents[1]).toEqual({ type: 'agent', id: coordinator.id, version: 1 });
    expectShape('BetaManagedAgentsAgent', await json('POST', `/v1/agents/${coordinator.id}/archive`));
  });
});

describe('environments', () => {
  it('cloud with limited networking and packages, self_hosted, list, archive and delete', async () => {
    const cloud = await json('POST', '/v1/environments', {
      name: 'shapes-cloud',
      description: 'limited',
      config: {
        type: 'cloud',
        networking: { type: 'limited', allowed_hosts: ['example.com'], allow_package_managers: true, allow_mcp_servers: true },
        packages: { pip: ['requests'], npm: ['left-pad'] },
      },
      metadata: { tier: 'test' },
    });
    expectShape('BetaEnvironment', cloud);
    const selfHosted = await json('POST', '/v1/environments', { name: 'shapes-self-hosted', config: { type: 'self_hosted' } });
    expectShape('BetaEnvironment', selfHosted);
    expectShape('BetaEnvironment', await json('POST', `/v1/environments/${cloud.id}`, { description: null }));
    expectShape('PageCursorResponse', await json('GET', '/v1/environments'), { Item: 'BetaEnvironment' });
    expectShape('BetaEnvironment', await json('GET', `/v1/environments/${cloud.id}`));
    expectShape('BetaEnvironment', await json('POST', `/v1/environments/${selfHosted.id}/archive`));
    // An error that names its cause in details.error_code (wire contract §0.6).
    const archived = await raw(p, 'POST', `/v1/environments/${selfHosted.id}`, { body: { description: 'x' } });
    expect(archived.status).toBe(400);
    expect(archived.json.error.details).toEqual({ error_code: 'environment_archived' });
    expectShape('BetaErrorResponse', archived.json);
    expectShape('BetaEnvironmentArchivedErrorDetails', archived.json.error.details);
    expectShape('BetaEnvironmentDeleteResponse', await json('DELETE', `/v1/environments/${selfHosted.id}`));
  });
});

describe('files, vaults, credentials', () => {
  it('file metadata, the files list (with the legacy Page fields) and the delete answer', async () => {
    const f = await p.client.beta.files.upload({ file: await toFile(Buffer.from('a,b\n'), 'data.csv', { type: 'text/csv' }) });
    expectShape('BetaFileMetadata', await json('GET', `/v1/files/${f.id}`));
    expectShape('PageCursorResponse', await json('GET', '/v1/files?limit=1'), { Item: 'BetaFileMetadata' });
    expectShape('BetaDeletedFile', await json('DELETE', `/v1/files/${f.id}`));
  });

  it('vaults and credentials of each auth type, their lists, validation and deletes', async () => {
    const vault = await json('POST', '/v1/vaults', { display_name: 'shapes', metadata: { a: 'b' } });
    expectShape('BetaManagedAgentsVault', vault);
    const base = `/v1/vaults/${vault.id}/credentials`;
    const auths = [
      {
        type: 'mcp_oauth',
        mcp_server_url: 'http://127.0.0.1:9/oauth-mcp',
        access_token: 'at-secret',
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        refresh: {
          client_id: 'cid',
          refresh_token: 'rt-secret',
          token_endpoint: 'http://127.0.0.1:9/token',
          token_endpoint_auth: { type: 'client_secret_post', client_secret: 'cs' },
          scope: 'read',
        },
      },
      { type: 'static_bearer', mcp_server_url: MCP_URL, token: 'bearer-secret' },
      {
        type: 'environment_variable',
        secret_name: 'API_TOKEN',
        secret_value: 'env-secret',
        networking: { type: 'limited', allowed_hosts: ['api.example.com'] },
      },
    ];
    const creds = [];
    for (const auth of auths) {
      const c = await json('POST', base, { auth, display_name: `cred ${auth.type}`, metadata: { k: 'v' } });
      expectShape('BetaManagedAgentsCredential', c);
      expectShape('BetaManagedAgentsCredential', await json('GET', `${base}/${c.id}`));
      creds.push(c);
    }
    expectShape('PageCursorResponse', await json('GET', base), { Item: 'BetaManagedAgentsCredential' });
    expectShape('BetaManagedAgentsCredentialValidation', await json('POST', `${base}/${creds[0].id}/mcp_oauth_validate`));
    expectShape('BetaManagedAgentsCredentialValidation', await json('POST', `${base}/${creds[1].id}/mcp_oauth_validate`));
    expectShape('BetaManagedAgentsCredential', await json('POST', `${base}/${creds[2].id}/archive`));
    expectShape('BetaManagedAgentsDeletedCredential', await json('DELETE', `${base}/${creds[2].id}`));
    expectShape(
      'BetaManagedAgentsCredential',
      await json('POST', `${base}/${creds[1].id}`, { auth: { type: 'static_bearer', token: 'rotated' }, display_name: null }),
    );
    expectShape('BetaManagedAgentsVault', await json('POST', `/v1/vaults/${vault.id}`, { display_name: 'renamed', metadata: { a: null } }));
    expectShape('BetaManagedAgentsVault', await json('GET', `/v1/vaults/${vault.id}`));
    expectShape('PageCursorResponse', await json('GET', '/v1/vaults'), { Item: 'BetaManagedAgentsVault' });
    const doomed = await json('POST', '/v1/vaults', { display_name: 'doomed' });
    expectShape('BetaManagedAgentsVault', await json('POST', `/v1/vaults/${doomed.id}/archive`));
    expectShape('BetaManagedAgentsDeletedVault', await json('DELETE', `/v1/vaults/${doomed.id}`));
  });
});

describe('error envelope', () => {
  it('400, 401, 404 and 409 answers are BetaErrorResponse', async () => {
    const cases: Array<[string, string, unknown, Record<string, string> | undefined, number]> = [
      ['POST', '/v1/agents', { name: 5 }, undefined, 400],
      ['GET', '/v1/agents', undefined, { authorization: 'Bearer wrong' }, 401],
      ['GET', '/v1/agents/agent_01nope', undefined, undefined, 404],
    ];
    for (const [method, path, body, headers, status] of cases) {
      const r = await raw(p, method, path, { body, headers, auth: headers === undefined });
      expect(r.status).toBe(status);
      expectShape('BetaErrorResponse', r.json);
    }
    await json('POST', '/v1/environments', { name: 'shapes-taken' });
    const r = await raw(p, 'POST', '/v1/environments', { body: { name: 'shapes-taken' } });
    expect(r.status).toBe(409);
    expectShape('BetaErrorResponse', r.json);
    expectShape('BetaManagedAgentsConflictErrorObject', r.json.error);
  });
});

/** Everything one session shows: its log, its stream (with previews) and the send echoes. */
const seen = { history: [] as Ev[], stream: [] as SseFrame[], echoes: [] as unknown[] };

describe('a session, its resources and every event it emits', () => {
  let sid: string;
  let agentId: string;
  let envId: string;
  let stream: RawStream | undefined;
  afterAll(() => stream?.close());

  const send = async (...events: unknown[]) => {
    const res = await json('POST', `/v1/sessions/${sid}/events`, { events });
    seen.echoes.push(res);
    return res.data as Ev[];
  };
  const lastIdle = (log: Ev[]) => idles(log).at(-1) as Ev;
  const waitIdles = (n: number) => waitForIdle(p.client, sid, n);

  it('a session with every kind of resource and a vault', async () => {
    const agent = await json('POST', '/v1/agents', {
      name: 'shapes-runner',
      model: 'claude-sonnet-4-6',
      tools: [
        {
          type: 'agent_toolset_20260401',
          configs: [
            { name: 'bash', permission_policy: { type: 'always_ask' } },
            { name: 'read', permission_policy: { type: 'auto' } },
          ],
        },
        { type: 'custom', name: 'lookup', description: 'Looks a thing up', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
      ],
    });
    agentId = agent.id;
    envId = (await json('POST', '/v1/environments', { name: 'shapes-run' })).id;
    const vault = await json('POST', '/v1/vaults', { display_name: 'session vault' });
    await json('POST', `/v1/vaults/${vault.id}/credentials`, { auth: { type: 'static_bearer', token: 'shapes-mcp-token', mcp_server_url: mcpServer.url } });
    const file = await p.client.beta.files.upload({ file: await toFile(Buffer.from('x'), 'in.txt', { type: 'text/plain' }) });
    const session = await json('POST', '/v1/sessions', {
      agent: agentId,
      environment_id: envId,
      title: 'shapes',
      metadata: { run: '1' },
      vault_ids: [vault.id],
      resources: [
        { type: 'file', file_id: file.id },
        {
          type: 'github_repository',
          url: 'https://github.com/acme/widgets.git',
          authorization_token: 'ghp_secret',
          checkout: { type: 'commit', sha: 'abc1234def5678' },
        },
        { type: 'memory_store', memory_store_id: 'memstore_01shapes', access: 'read_only', instructions: 'notes' },
      ],
    });
    sid = session.id;
    expectShape('BetaManagedAgentsSession', session);
    expectShape('BetaManagedAgentsSession', await json('GET', `/v1/sessions/${sid}`));
    expectShape('BidirectionalPageCursorResponse', await json('GET', '/v1/sessions?limit=1'), { Item: 'BetaManagedAgentsSession' });
    const spare = await json('POST', '/v1/sessions', { agent: { type: 'agent', id: agentId, version: 1 }, environment_id: envId });
    expectShape('BetaManagedAgentsSession', await json('POST', `/v1/sessions/${spare.id}/archive`));
  });

  it('session resources of each kind: list, retrieve, add, update, delete', async () => {
    const base = `/v1/sessions/${sid}/resources`;
    const list = await json('GET', base);
    expectShape('PageCursorResponse', list, { Item: 'BetaManagedAgentsSessionResource' });
    expect(new Set(list.data.map((r: { type: string }) => r.type))).toEqual(new Set(['file', 'github_repository', 'memory_store']));
    for (const r of list.data.filter((x: { id?: string }) => x.id)) expectShape('ResourceRetrieveResponse', await json('GET', `${base}/${r.id}`));
    const repo = list.data.find((r: { type: string }) => r.type === 'github_repository');
    expectShape('ResourceUpdateResponse', await json('POST', `${base}/${repo.id}`, { authorization_token: 'ghp_rotated' }));
    const file = await p.client.beta.files.upload({ file: await toFile(Buffer.from('y'), 'more.txt', { type: 'text/plain' }) });
    const added = await json('POST', base, { type: 'file', file_id: file.id });
    expectShape('BetaManagedAgentsFileResource', added);
    expectShape('BetaManagedAgentsDeleteSessionResource', await json('DELETE', `${base}/${added.id}`));
  });

  it('drives turns that emit every event type Paddock writes', async () => {
    stream = await openSse(`${p.url}/v1/sessions/${sid}/events/stream?event_deltas[]=agent.message&event_deltas[]=agent.thinking`, p.apiKey);
    expect(stream.status).toBe(200);

    // Thinking, text and a bash call that asks for confirmation → idle requires_action.
    model.enqueue({
      content: [
        { type: 'thinking', thinking: 'Let me look.' },
        { type: 'text', text: 'Looking around now.' },
        { type: 'tool_use', name: 'bash', input: { command: 'ls' } },
      ],
    });
    await send({ type: 'user.message', content: [text('start')] });
    let log = await waitIdles(1);
    const ask = log.find((e) => e.type === 'agent.tool_use')!;
    expect(lastIdle(log).stop_reason).toEqual({ type: 'requires_action', event_ids: [ask.id] });

    // Denied → agent.tool_result; the model calls the custom tool → idle requires_action again.
    model.enqueue({ content: [{ type: 'tool_use', name: 'lookup', input: { q: 'x' } }] });
    await send({ type: 'user.tool_confirmation', tool_use_id: ask.id, result: 'deny', deny_message: 'not now' });
    log = await waitIdles(2);
    const custom = log.find((e) => e.type === 'agent.custom_tool_use')!;

    // The custom result → an auto-allowed read (runs, unavailable here) and an unknown tool
    // (denied) → a text answer whose prompt size makes the next request compact first.
    model.enqueue(
      {
        content: [
          { type: 'tool_use', name: 'read', input: { file_path: '/etc/hostname' } },
          { type: 'tool_use', name: 'nope', input: {} },
        ],
      },
      { content: [{ type: 'text', text: 'Done.' }], usage: { input_tokens: 5000 } },
    );
    await send({ type: 'user.custom_tool_result', custom_tool_use_id: custom.id, content: [text('found')], is_error: false });
    log = await waitIdles(3);
    expect(lastIdle(log).stop_reason).toEqual({ type: 'end_turn' });

    // Compaction, then a system.message-carrying turn.
    model.enqueue({ content: [{ type: 'text', text: 'Summary of the work.' }] }, { content: [{ type: 'text', text: 'Again.' }] });
    await send({ type: 'user.message', content: [text('again')] }, { type: 'system.message', content: [text('be brief')] });
    log = await waitIdles(4);
    expect(log.some((e) => e.type === 'agent.thread_context_compacted')).toBe(true);

    // Client events that start no turn: their echoes.
    await send({ type: 'user.interrupt' });
    await send({ type: 'user.define_outcome', description: 'a haiku', rubric: { type: 'text', content: 'five-seven-five' }, max_iterations: 2 });
    await send({ type: 'user.tool_result', tool_use_id: 'sevt_01unknown', content: [text('late')], is_error: false });

    // session.updated.
    expectShape('BetaManagedAgentsSession', await json('POST', `/v1/sessions/${sid}`, { title: 'renamed', metadata: { run: '2' } }));
    const tools = [
      { type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } },
      { type: 'mcp_toolset', mcp_server_name: 'docs' },
    ];
    expectShape(
      'BetaManagedAgentsSession',
      await json('POST', `/v1/sessions/${sid}`, { agent: { tools, mcp_servers: [{ type: 'url', name: 'docs', url: mcpServer.url }] } }),
    );
    await waitFor(p.client, sid, (l) => l.filter((e) => e.type === 'session.updated').length === 2);

    // An MCP tool call (MCP toolsets ask by default) → agent.mcp_tool_use, confirmed → agent.mcp_tool_result.
    let idleCount = idles(await events(p.client, sid)).length;
    model.enqueue({ content: [{ type: 'tool_use', name: 'mcp__docs__echo', input: { text: 'shapes' } }] }, { content: [text('Echoed.')] });
    await send({ type: 'user.message', content: [text('call the MCP tool')] });
    log = await waitIdles(++idleCount);
    const mcpUse = log.find((e) => e.type === 'agent.mcp_tool_use')!;
    expect(lastIdle(log).stop_reason).toEqual({ type: 'requires_action', event_ids: [mcpUse.id] });
    await send({ type: 'user.tool_confirmation', tool_use_id: mcpUse.id, result: 'allow' });
    log = await waitIdles(++idleCount);
    expect(log.find((e) => e.type === 'agent.mcp_tool_result')).toMatchObject({ mcp_tool_use_id: mcpUse.id, content: [text('echo: shapes')] });

    // Transient model errors until retries run out → session.error (retrying, exhausted),
    // status_rescheduled, idle retries_exhausted.
    const before = idles(await events(p.client, sid)).length;
    model.setFallback({ status: 529 });
    await send({ type: 'user.message', content: [text('fail transiently')] });
    log = await waitIdles(before + 1);
    expect(lastIdle(log).stop_reason).toEqual({ type: 'retries_exhausted' });
    model.setFallback({});

    // A terminal model error → session.error (terminal), idle end_turn.
    model.enqueue({ status: 400, errorMessage: 'bad request' });
    await send({ type: 'user.message', content: [text('fail for good')] });
    log = await waitIdles(before + 2);

    // An MCP server that cannot be reached → session.error (mcp_connection_failed_error), idle end_turn.
    expectShape(
      'BetaManagedAgentsSession',
      await json('POST', `/v1/sessions/${sid}`, { agent: { tools, mcp_servers: [{ type: 'url', name: 'docs', url: MCP_URL }] } }),
    );
    await send({ type: 'user.message', content: [text('the server is gone')] });
    log = await waitIdles(before + 3);
    expect(log.filter((e) => e.type === 'session.error').at(-1)!.error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'docs' });
    seen.history = log;

    expectShape('BetaManagedAgentsSession', await json('GET', `/v1/sessions/${sid}`));
    expectShape('PageCursorResponse', await json('GET', `/v1/sessions/${sid}/events?limit=5`), { Item: 'BetaManagedAgentsSessionEvent' });

    // Deleting it ends the stream with session.deleted.
    expectShape('BetaManagedAgentsDeletedSession', await json('DELETE', `/v1/sessions/${sid}`));
    seen.stream = await stream.until((f) => f.event === 'session.deleted', 10_000);
  });

  it('every logged event is a BetaManagedAgentsSessionEvent, and the run covered every type Paddock writes', () => {
    for (const e of seen.history) expectShape('BetaManagedAgentsSessionEvent', e);
    const types = new Set(seen.history.map((e) => e.type));
    for (const t of [
      'user.message',
      'user.interrupt',
      'user.tool_confirmation',
      'user.custom_tool_result',
      'user.tool_result',
      'user.define_outcome',
      'system.message',
      'agent.message',
      'agent.thinking',
      'agent.tool_use',
      'agent.tool_result',
      'agent.custom_tool_use',
      'agent.mcp_tool_use',
      'agent.mcp_tool_result',
      'agent.thread_context_compacted',
      'span.model_request_start',
      'span.model_request_end',
      'session.status_running',
      'session.status_idle',
      'session.status_rescheduled',
      'session.error',
      'session.updated',
    ]) {
      expect(types, t).toContain(t);
    }
    const reasons = new Set(idles(seen.history).map((e) => (e.stop_reason as { type: string }).type));
    expect(reasons).toEqual(new Set(['requires_action', 'end_turn', 'retries_exhausted']));
    const retry = new Set(seen.history.filter((e) => e.type === 'session.error').map((e) => (e.error as { retry_status: { type: string } }).retry_status.type));
    expect(retry).toEqual(new Set(['retrying', 'exhausted', 'terminal']));
    const evaluations = new Set(seen.history.filter((e) => e.type === 'agent.tool_use').map((e) => JSON.stringify(e.evaluation ?? null)));
    expect(evaluations).toEqual(new Set(['{"type":"always_ask"}', '{"type":"auto","evaluated_permission":{"type":"allow"}}', 'null']));
  });

  it('every send answer is BetaManagedAgentsSendSessionEvents', () => {
    expect(seen.echoes.length).toBeGreaterThan(5);
    for (const r of seen.echoes) expectShape('BetaManagedAgentsSendSessionEvents', r);
  });

  it('every stream frame is a BetaManagedAgentsStreamSessionEvents named by its type, previews and session.deleted included', () => {
    const frames = seen.stream.filter((f) => f.event !== 'ping');
    for (const f of frames) {
      const e = JSON.parse(f.data);
      expect(f.event).toBe(e.type);
      expectShape('BetaManagedAgentsStreamSessionEvents', e);
    }
    const types = new Set(frames.map((f) => f.event));
    for (const t of ['event_start', 'event_delta', 'session.deleted', 'agent.message', 'session.status_idle']) expect(types, t).toContain(t);
    const starts = frames.map((f) => JSON.parse(f.data)).filter((e) => e.type === 'event_start');
    expect(new Set(starts.map((e) => e.event.type))).toEqual(new Set(['agent.message', 'agent.thinking']));
  });
});

describe('the exception list', () => {
  it('holds only exceptions this run needed', () => {
    expect(EXCEPTIONS.filter((e) => !used.has(e)).map((e) => `${e.type} ${e.path}`)).toEqual([]);
  });
});
