import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';

/**
 * Table-driven abuse of every issue-2 route: malformed bodies, wrong types, unknown ids,
 * oversized fields and bad cursors. Each must be a 4xx in the error envelope with a request-id
 * header, never a 500, and the server must keep serving.
 */

let p: PaddockProcess;
const ids = { agent: '', env: '', session: '', event: '' };

beforeAll(async () => {
  p = await startPaddock({ env: { PADDOCK_MAX_BODY_BYTES: String(256 * 1024) } });
  const c = p.client;
  ids.agent = (await c.beta.agents.create({ name: 'target', model: 'claude-opus-4-7' })).id;
  ids.env = (await c.beta.environments.create({ name: 'target-env' })).id;
  ids.session = (await c.beta.sessions.create({ agent: ids.agent, environment_id: ids.env })).id;
  ids.event = (await c.beta.sessions.events.send(ids.session, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'x' }] }] })).data![0].id;
});
afterAll(async () => {
  await p?.stop();
});

type Case = { method: string; path: string | (() => string); body?: unknown; rawBody?: string; headers?: Record<string, string> };

const long = (n: number) => 'x'.repeat(n);
const tooManyKeys = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Bodies that are wrong for any JSON-object endpoint. */
const badBodies: Array<[string, Omit<Case, 'method' | 'path'>]> = [
  ['malformed JSON', { rawBody: '{"name": "x",', headers: JSON_HEADERS }],
  ['truncated JSON', { rawBody: '{', headers: JSON_HEADERS }],
  ['a JSON array', { body: [] }],
  ['a JSON string', { body: 'hello' }],
  ['a JSON number', { body: 42 }],
  ['JSON null', { rawBody: 'null', headers: JSON_HEADERS }],
  ['a non-JSON content-type', { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
  ['text/plain', { rawBody: '{"name":"x"}', headers: { 'content-type': 'text/plain' } }],
  ['a body over the limit', { rawBody: JSON.stringify({ name: long(300 * 1024) }), headers: JSON_HEADERS }],
];

const createAgent = (patch: Record<string, unknown>) => ({ method: 'POST', path: '/v1/agents', body: { name: 'a', model: 'claude-opus-4-7', ...patch } });
const createEnv = (patch: Record<string, unknown>) => ({ method: 'POST', path: '/v1/environments', body: { name: `e-${Math.random()}`, ...patch } });
const createSession = (patch: Record<string, unknown>) => ({
  method: 'POST',
  path: '/v1/sessions',
  body: { agent: ids.agent, environment_id: ids.env, ...patch },
});
const sendEvents = (events: unknown) => ({ method: 'POST', path: () => `/v1/sessions/${ids.session}/events`, body: { events } });

const fieldCases: Array<[string, Case | (() => Case)]> = [
  // agents
  ['agent name a number', () => createAgent({ name: 5 })],
  ['agent name too long', () => createAgent({ name: long(257) })],
  ['agent model a number', () => createAgent({ model: 7 })],
  ['agent model object without id', () => createAgent({ model: { speed: 'fast' } })],
  ['agent model with a bad effort', () => createAgent({ model: { id: 'm', effort: 'extreme' } })],
  ['agent system too long', () => createAgent({ system: long(100_001) })],
  ['agent description too long', () => createAgent({ description: long(2049) })],
  ['agent tools an object', () => createAgent({ tools: { type: 'custom' } })],
  ['agent tools with null entries', () => createAgent({ tools: [null] })],
  ['agent toolset config for an unknown tool', () => createAgent({ tools: [{ type: 'agent_toolset_20260401', configs: [{ name: 'rm' }] }] })],
  ['agent toolset bad permission policy', () => createAgent({ tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: 'yes' } }] })],
  ['agent custom tool without schema', () => createAgent({ tools: [{ type: 'custom', name: 't', description: 'd' }] })],
  [
    'agent web_search user_location city a number',
    () => createAgent({ tools: [{ type: 'agent_toolset_20260401', configs: [{ name: 'web_search', user_location: { type: 'approximate', city: 5 } }] }] }),
  ],
  [
    'agent mcp server with a bad url',
    () => createAgent({ mcp_servers: [{ type: 'url', name: 's', url: 'not a url' }], tools: [{ type: 'mcp_toolset', mcp_server_name: 's' }] }),
  ],
  [
    'agent with 21 mcp servers',
    () => createAgent({ mcp_servers: Array.from({ length: 21 }, (_, i) => ({ type: 'url', name: `s${i}`, url: 'https://x.example' })) }),
  ],
  ['agent skills a string', () => createAgent({ skills: 'pdf' })],
  ['agent metadata with 17 keys', () => createAgent({ metadata: tooManyKeys })],
  ['agent metadata key too long', () => createAgent({ metadata: { [long(65)]: 'v' } })],
  ['agent metadata value too long', () => createAgent({ metadata: { k: long(513) } })],
  ['agent metadata value a number', () => createAgent({ metadata: { k: 1 } })],
  ['agent multiagent of unknown type', () => createAgent({ multiagent: { type: 'swarm' } })],
  ['agent execution_identity bad', () => createAgent({ execution_identity: { type: 'root' } })],
  ['agent update version not an integer', () => ({ method: 'POST', path: `/v1/agents/${ids.agent}`, body: { version: 'one' } })],
  ['agent update version stale', () => ({ method: 'POST', path: `/v1/agents/${ids.agent}`, body: { version: 999, system: 'x' } })],
  ['agent update tools wrong type', () => ({ method: 'POST', path: `/v1/agents/${ids.agent}`, body: { tools: 'all' } })],
  ['agent retrieve version 0', () => ({ method: 'GET', path: `/v1/agents/${ids.agent}?version=0` })],
  ['agent retrieve version text', () => ({ method: 'GET', path: `/v1/agents/${ids.agent}?version=latest` })],
  ['agent retrieve version huge', () => ({ method: 'GET', path: `/v1/agents/${ids.agent}?version=99999999999999999999` })],
  // environments
  ['env name missing', () => ({ method: 'POST', path: '/v1/environments', body: {} })],
  ['env name an array', () => createEnv({ name: ['x'] })],
  ['env config type unknown', () => createEnv({ config: { type: 'kubernetes' } })],
  ['env networking unknown', () => createEnv({ config: { type: 'cloud', networking: { type: 'open' } } })],
  ['env allowed_hosts not hosts', () => createEnv({ config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['http://x/y'] } } })],
  ['env packages a string', () => createEnv({ config: { type: 'cloud', packages: 'numpy' } })],
  ['env pip list of numbers', () => createEnv({ config: { type: 'cloud', packages: { pip: [1] } } })],
  ['env pip entry with shell metacharacters', () => createEnv({ config: { type: 'cloud', packages: { pip: ['six; touch /tmp/pwned'] } } })],
  ['env npm entry with a command substitution', () => createEnv({ config: { type: 'cloud', packages: { npm: ['$(id)'] } } })],
  ['env pip entry that is an option', () => createEnv({ config: { type: 'cloud', packages: { pip: ['--index-url=http://127.0.0.1:9/'] } } })],
  ['env unknown package manager', () => createEnv({ config: { type: 'cloud', packages: { brew: ['wget'] } } })],
  [
    'env update with an unknown package manager',
    () => ({ method: 'POST', path: `/v1/environments/${ids.env}`, body: { config: { type: 'cloud', packages: { conda: ['numpy'] } } } }),
  ],
  ['env scope unknown', () => createEnv({ scope: 'galaxy' })],
  ['env update config type change', () => ({ method: 'POST', path: `/v1/environments/${ids.env}`, body: { config: { type: 'self_hosted' } } })],
  ['env update description a number', () => ({ method: 'POST', path: `/v1/environments/${ids.env}`, body: { description: 3 } })],
  ['env update metadata an array', () => ({ method: 'POST', path: `/v1/environments/${ids.env}`, body: { metadata: ['a'] } })],
  // sessions
  ['session without agent', () => ({ method: 'POST', path: '/v1/sessions', body: { environment_id: ids.env } })],
  ['session without environment', () => ({ method: 'POST', path: '/v1/sessions', body: { agent: ids.agent } })],
  ['session agent a number', () => createSession({ agent: 12 })],
  ['session agent of unknown type', () => createSession({ agent: { type: 'robot', id: ids.agent } })],
  ['session agent version 0', () => createSession({ agent: { type: 'agent', id: ids.agent, version: 0 } })],
  ['session agent version a word', () => createSession({ agent: { type: 'agent', id: ids.agent, version: 'two' } })],
  ['session overrides with bad tools', () => createSession({ agent: { type: 'agent_with_overrides', id: ids.agent, tools: [{ type: 'nope' }] } })],
  ['session overrides clearing the model', () => createSession({ agent: { type: 'agent_with_overrides', id: ids.agent, model: null } })],
  ['session title too long', () => createSession({ title: long(501) })],
  ['session metadata with 17 keys', () => createSession({ metadata: tooManyKeys })],
  ['session vault_ids a string', () => createSession({ vault_ids: 'vlt_1' })],
  ['session resources an object', () => createSession({ resources: { type: 'file' } })],
  ['session initial_events an object', () => createSession({ initial_events: { type: 'user.message' } })],
  [
    'session with 51 initial events',
    () => createSession({ initial_events: Array.from({ length: 51 }, () => ({ type: 'user.message', content: [{ type: 'text', text: 'x' }] })) }),
  ],
  ['session budget', () => createSession({ budget: { type: 'limit', max_list_cost: { amount: '100', currency: 'USD' } } })],
  ['session update vault_ids', () => ({ method: 'POST', path: `/v1/sessions/${ids.session}`, body: { vault_ids: [] } })],
  ['session update title a number', () => ({ method: 'POST', path: `/v1/sessions/${ids.session}`, body: { title: 9 } })],
  ['session update agent a string', () => ({ method: 'POST', path: `/v1/sessions/${ids.session}`, body: { agent: 'agent_x' } })],
  ['session update agent tools bad', () => ({ method: 'POST', path: `/v1/sessions/${ids.session}`, body: { agent: { tools: 5 } } })],
  // events
  ['events body without events', () => ({ method: 'POST', path: `/v1/sessions/${ids.session}/events`, body: {} })],
  ['events a string', () => sendEvents('hi')],
  ['events with 101 entries', () => sendEvents(Array.from({ length: 101 }, () => ({ type: 'user.message', content: [{ type: 'text', text: 'x' }] })))],
  ['event type missing', () => sendEvents([{ content: [] }])],
  ['event content a string', () => sendEvents([{ type: 'user.message', content: 'hi' }])],
  ['event image without source', () => sendEvents([{ type: 'user.message', content: [{ type: 'image' }] }])],
  [
    'event image with a bad url',
    () => sendEvents([{ type: 'user.message', content: [{ type: 'image', source: { type: 'url', url: 'file:///etc/passwd' } }] }]),
  ],
  ['event document with a bad source', () => sendEvents([{ type: 'user.message', content: [{ type: 'document', source: { type: 'zip' } }] }])],
  ['event text too long', () => sendEvents([{ type: 'user.message', content: [{ type: 'text', text: long(1_000_001) }] }])],
  ['event interrupt thread a number', () => sendEvents([{ type: 'user.interrupt', session_thread_id: 5 }])],
  ['event tool result without id', () => sendEvents([{ type: 'user.custom_tool_result', content: [] }])],
  ['event tool result is_error a string', () => sendEvents([{ type: 'user.tool_result', tool_use_id: 'x', is_error: 'yes' }])],
  ['event deny message on allow', () => sendEvents([{ type: 'user.tool_confirmation', tool_use_id: 'x', result: 'allow', deny_message: 'no' }])],
  ['event outcome without rubric', () => sendEvents([{ type: 'user.define_outcome', description: 'd' }])],
  [
    'two system messages',
    () =>
      sendEvents([
        { type: 'user.message', content: [{ type: 'text', text: 'x' }] },
        { type: 'system.message', content: [{ type: 'text', text: 'a' }] },
        { type: 'system.message', content: [{ type: 'text', text: 'b' }] },
      ]),
  ],
];

/** Unknown, malformed and hostile ids in every id position. */
const idShapes = [
  'agent_01doesnotexist',
  'env_01doesnotexist',
  'sesn_01doesnotexist',
  'garbage',
  '%00',
  encodeURIComponent("'; drop table agents; --"),
  '%E0%A4%A',
  long(600),
];
const idRoutes: Array<[string, (id: string) => string, unknown?]> = [
  ['GET', (id) => `/v1/agents/${id}`],
  ['POST', (id) => `/v1/agents/${id}`, { system: 'x' }],
  ['POST', (id) => `/v1/agents/${id}/archive`],
  ['GET', (id) => `/v1/agents/${id}/versions`],
  ['GET', (id) => `/v1/environments/${id}`],
  ['POST', (id) => `/v1/environments/${id}`, { description: 'x' }],
  ['DELETE', (id) => `/v1/environments/${id}`],
  ['POST', (id) => `/v1/environments/${id}/archive`],
  ['GET', (id) => `/v1/sessions/${id}`],
  ['POST', (id) => `/v1/sessions/${id}`, { title: 'x' }],
  ['DELETE', (id) => `/v1/sessions/${id}`],
  ['POST', (id) => `/v1/sessions/${id}/archive`],
  ['GET', (id) => `/v1/sessions/${id}/events`],
  ['POST', (id) => `/v1/sessions/${id}/events`, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'x' }] }] }],
  ['GET', (id) => `/v1/sessions/${id}/events/stream`],
];

/** Query strings no list accepts. */
const badQueries = [
  'page=garbage',
  'page=page_',
  `page=page_${Buffer.from('[1,2]').toString('base64url')}`,
  `page=page_${Buffer.from('{"k":{},"d":"next","o":"desc"}').toString('base64url')}`,
  'limit=0',
  'limit=-5',
  'limit=1.5',
  'limit=100000000000000000000',
  'limit=ten',
];
const listRoutes = [
  () => '/v1/agents',
  () => `/v1/agents/${ids.agent}/versions`,
  () => '/v1/environments',
  () => '/v1/sessions',
  () => `/v1/sessions/${ids.session}/events`,
];
const cursor = (k: unknown, o: string) => `page=page_${Buffer.from(JSON.stringify({ k, d: 'next', o })).toString('base64url')}`;
const listOnly: Array<[string, () => string]> = [
  // Well-formed cursors whose key has the wrong type for the list (forged, or from another list).
  [cursor(5, 'desc'), () => '/v1/agents'],
  [cursor(5, 'desc'), () => '/v1/environments'],
  [cursor(5, 'desc'), () => '/v1/sessions'],
  [cursor('agent_01x', 'desc'), () => `/v1/agents/${ids.agent}/versions`],
  [cursor('sevt_01x', 'asc'), () => `/v1/sessions/${ids.session}/events`],
  [cursor(1.5, 'asc'), () => `/v1/sessions/${ids.session}/events`],
  ['include_archived=maybe', () => '/v1/agents'],
  ['include_archived=maybe', () => '/v1/environments'],
  ['include_archived=maybe', () => '/v1/sessions'],
  ['created_at[gte]=yesterday', () => '/v1/agents'],
  ['created_at[lte]=2026-13-45T99:00:00Z', () => '/v1/agents'],
  ['created_at[gt]=yesterday', () => '/v1/sessions'],
  ['created_at[lt]=0', () => `/v1/sessions/${ids.session}/events`],
  ['order=sideways', () => '/v1/sessions'],
  ['order=sideways', () => `/v1/sessions/${ids.session}/events`],
  ['agent_version=1 (without agent_id)', () => '/v1/sessions'],
  ['statuses[]=sleeping', () => '/v1/sessions'],
  ['types[]=&limit=2000', () => `/v1/sessions/${ids.session}/events`],
  ['event_deltas[]=session.status_idle', () => `/v1/sessions/${ids.session}/events/stream`],
];

async function expectClientError(c: Case, what: string): Promise<void> {
  const path = typeof c.path === 'function' ? c.path() : c.path;
  const r = await raw(p, c.method, path, { body: c.body, rawBody: c.rawBody, headers: c.headers });
  const rid = r.headers.get('request-id');
  const ctx = `${what}: ${c.method} ${path.slice(0, 120)} → ${r.status} ${r.text.slice(0, 300)}`;
  expect(r.status, ctx).toBeGreaterThanOrEqual(400);
  expect(r.status, ctx).toBeLessThan(500);
  expect(rid, ctx).toMatch(/^req_/);
  expect(r.json, ctx).toEqual({
    type: 'error',
    error: expect.objectContaining({ type: expect.any(String), message: expect.any(String) }),
    request_id: rid,
  });
}

describe('bad input never yields a 500', () => {
  const postRoutes: Array<() => string> = [
    () => '/v1/agents',
    () => `/v1/agents/${ids.agent}`,
    () => '/v1/environments',
    () => `/v1/environments/${ids.env}`,
    () => '/v1/sessions',
    () => `/v1/sessions/${ids.session}`,
    () => `/v1/sessions/${ids.session}/events`,
  ];

  it.each(badBodies)('%s to every JSON POST route', async (what, body) => {
    for (const path of postRoutes) await expectClientError({ method: 'POST', path, ...body }, what);
  });

  it.each(fieldCases)('%s', async (what, c) => {
    await expectClientError(typeof c === 'function' ? c() : c, what);
  });

  it.each(idShapes)('id %s in every id position', async (id) => {
    for (const [method, path, body] of idRoutes) await expectClientError({ method, path: path(id), body }, `id ${id.slice(0, 30)}`);
  });

  it.each(badQueries)('?%s on every list', async (q) => {
    for (const route of listRoutes) await expectClientError({ method: 'GET', path: () => `${route()}?${q}` }, q);
  });

  it.each(listOnly)('?%s', async (q, route) => {
    await expectClientError({ method: 'GET', path: () => `${route()}?${q}` }, q);
  });

  it('a cursor reused with the other order is refused', async () => {
    await p.client.beta.sessions.create({ agent: ids.agent, environment_id: ids.env });
    const next = (await raw(p, 'GET', '/v1/sessions?limit=1')).json.next_page;
    expect(next).toBeTruthy();
    await expectClientError({ method: 'GET', path: `/v1/sessions?order=asc&page=${next}` }, 'order mismatch');
  });

  it('the server is still up and its data intact', async () => {
    const r = await raw(p, 'GET', `/v1/sessions/${ids.session}/events`);
    expect(r.status).toBe(200);
    expect(r.json.data.map((e: { id: string }) => e.id)).toContain(ids.event);
    expect((await raw(p, 'GET', '/v1/agents')).status).toBe(200);
    expect(p.proc.exitCode).toBeNull();
    expect(p.output()).not.toMatch(/"level":50/); // nothing logged at error level
  });
});
