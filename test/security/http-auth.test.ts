import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { routeAccess } from '../../src/http/auth.js';
import { buildPaddock, type PaddockGraph } from '../../src/server.js';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';
import { usePaddock } from '../support/use-paddock.js';

/**
 * The API key is required on every route but the declared public ones, however the path is
 * spelled: the router decodes and normalises URLs, so a check on the raw URL string can be
 * walked around (`/%761/sessions` is `/v1/sessions` to the router). And browsers may read
 * responses only for the origins the operator listed in PADDOCK_CORS_ORIGINS.
 */

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request with its target sent byte for byte: fetch() and URL would normalise it first. */
function send(p: Pick<PaddockProcess, 'url'>, method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(p.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: target, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens an event stream, takes its status and headers, and hangs up. */
function streamHeaders(p: Pick<PaddockProcess, 'url'>, target: string, headers: Record<string, string>): Promise<RawResponse> {
  const { hostname, port } = new URL(p.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method: 'GET', path: target, headers, agent: false }, (res) => {
      resolve({ status: res.statusCode!, headers: res.headers, text: '' });
      req.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

const MARK = `secret-agent-${Math.random().toString(36).slice(2)}`;

/**
 * Spellings of real, data-bearing paths (and of near misses). `withKey` is what the router makes
 * of each when the key is valid: 200 where it matched a list route, a 4xx envelope otherwise.
 */
const SPELLINGS: Array<{ target: string; withKey: number }> = [
  { target: '/v1/sessions', withKey: 200 },
  { target: '/v1/agents', withKey: 200 },
  { target: '/%761/sessions', withKey: 200 },
  { target: '/v%31/agents', withKey: 200 },
  { target: '/%76%31/environments', withKey: 200 },
  { target: '/v1/%61gents', withKey: 200 },
  { target: '/%76%31/%61%67%65%6e%74%73', withKey: 200 },
  { target: '/v1/sessions/', withKey: 200 },
  { target: '/v1/sessions?x', withKey: 200 },
  { target: '/%761/sessions?limit=1', withKey: 200 },
  { target: '/v1/sessions#', withKey: 200 },
  { target: '/v1/agents#frag', withKey: 200 },
  { target: '//v1/sessions', withKey: 404 },
  { target: '/v1//sessions', withKey: 404 },
  { target: '/./v1/sessions', withKey: 404 },
  { target: '/v1/./sessions', withKey: 404 },
  { target: '/x/../v1/sessions', withKey: 404 },
  { target: '/healthz/../v1/sessions', withKey: 404 },
  { target: '/healthz/%2e%2e/v1/sessions', withKey: 404 },
  { target: '/%2e/v1/sessions', withKey: 404 },
  { target: '/V1/sessions', withKey: 404 },
  { target: '/%56%31/sessions', withKey: 404 },
  { target: '/v1%2fsessions', withKey: 404 },
  { target: '/v1%2Fagents', withKey: 404 },
  { target: '/%2fv1/sessions', withKey: 404 },
  { target: '/v1/sessions;x', withKey: 404 },
  { target: '/v1/sessions%20', withKey: 404 },
  { target: '/v1/sessions%00', withKey: 404 },
  { target: '/v1\\sessions', withKey: 404 },
  { target: '/v1/agents/%2e%2e/sessions', withKey: 404 },
  { target: 'http://127.0.0.1/v1/sessions', withKey: 200 },
  { target: '/no-such-route', withKey: 404 },
  { target: '/', withKey: 404 },
  { target: '*', withKey: 404 },
  // Rejected by the router before any hook: invalid encoding, and a parameter over the limit.
  { target: '/v1/agents/%E0%A4%A', withKey: 400 },
  { target: '/v1/sessions/%zz', withKey: 400 },
  { target: `/v1/agents/${'a'.repeat(600)}`, withKey: 404 },
];

const NO_KEY = {};
const WRONG_KEY = { 'x-api-key': 'sk-wrong' };
const WRONG_BEARER = { authorization: 'Bearer sk-wrong' };

function expect401(r: RawResponse, what: string): void {
  expect(r.status, what).toBe(401);
  expect(JSON.parse(r.text), what).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
}

describe('the API key, however the path is spelled', () => {
  const p = usePaddock();
  const ids: string[] = [];

  beforeAll(async () => {
    const agent = await p.client.beta.agents.create({ name: MARK, model: 'claude-opus-4-7' });
    const env = await p.client.beta.environments.create({ name: `${MARK}-env` });
    const session = await p.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
    ids.push(agent.id, env.id, session.id);
  });

  it.each(SPELLINGS)('GET $target without a valid key is a 401 that reveals nothing', async ({ target }) => {
    for (const headers of [NO_KEY, WRONG_KEY, WRONG_BEARER]) {
      const r = await send(p, 'GET', target, headers);
      expect401(r, `${target} ${JSON.stringify(headers)}`);
      for (const secret of [MARK, ...ids]) expect(r.text).not.toContain(secret);
    }
  });

  it.each(SPELLINGS)('GET $target with the key answers as the router decides', async ({ target, withKey }) => {
    const r = await send(p, 'GET', target, { 'x-api-key': p.apiKey });
    expect(r.status).toBe(withKey);
    const json = JSON.parse(r.text);
    if (withKey === 200) expect(json.data.length).toBeGreaterThan(0);
    else expect(json).toMatchObject({ type: 'error', error: { type: withKey === 400 ? 'invalid_request_error' : 'not_found_error' } });
  });

  it('HEAD, POST and DELETE under encoded paths need the key too, and change nothing without it', async () => {
    const [agentId, , sessionId] = ids;
    const create = JSON.stringify({ name: `${MARK}-smuggled`, model: 'claude-opus-4-7' });
    const json = { 'content-type': 'application/json' };
    expect401(await send(p, 'POST', '/%761/agents', json, create), 'POST /%761/agents');
    expect401(await send(p, 'POST', `/v1/agents/${agentId}/%61rchive`, NO_KEY), 'archive');
    expect401(await send(p, 'DELETE', `/%761/sessions/${sessionId}`, NO_KEY), 'DELETE session');
    const head = await send(p, 'HEAD', '/%761/sessions', NO_KEY);
    expect(head.status).toBe(401);

    const agents = await p.client.beta.agents.list();
    expect(agents.data.map((a) => a.name)).not.toContain(`${MARK}-smuggled`);
    expect((await p.client.beta.agents.retrieve(agentId)).archived_at).toBeNull();
    expect((await p.client.beta.sessions.retrieve(sessionId)).id).toBe(sessionId);
  });

  it('the health check answers without a key, under any spelling the router accepts', async () => {
    for (const target of ['/healthz', '/%68ealthz', '/healthz/', '/healthz?x']) {
      const r = await send(p, 'GET', target);
      expect(r.status, target).toBe(200);
      expect(JSON.parse(r.text)).toEqual({ status: 'ok' });
    }
  });
});

describe('every registered route', () => {
  let paddock: PaddockGraph;
  let app: FastifyInstance;
  const KEY = 'sk-route-table';

  beforeAll(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'paddock-routes-'));
    const config = await loadConfig({ PADDOCK_DATA_DIR: dataDir, PADDOCK_API_KEYS: KEY, PADDOCK_SANDBOX: 'none' });
    paddock = await buildPaddock(config, pino({ level: 'silent' }));
    app = paddock.app;
    // Routes a later change might add, outside /v1 and inside an encapsulated plugin: their
    // authors did nothing about auth, and must not have to.
    app.get('/internal/debug', async () => ({ leaked: MARK }));
    app.register(
      async (scope) => {
        scope.post('/reset', async () => ({ leaked: MARK }));
      },
      { prefix: '/admin' },
    );
    await app.ready();
  });
  afterAll(async () => {
    await paddock?.close();
  });

  const fill = (url: string) => url.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x');

  it('only GET and HEAD of /healthz and /v1/openapi.json are public', () => {
    const routes = routeAccess(app);
    const names = routes.map((r) => `${r.method} ${r.url}`);
    expect(names).toEqual(
      expect.arrayContaining(['GET /v1/sessions', 'POST /v1/files', 'GET /v1/sessions/:session_id/events/stream', 'GET /internal/debug', 'POST /admin/reset']),
    );
    expect(
      routes
        .filter((r) => r.public)
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual(['GET /healthz', 'GET /v1/openapi.json', 'HEAD /healthz', 'HEAD /v1/openapi.json']);
  });

  it('each of the others answers 401 without a key or with a wrong one', async () => {
    const routes = routeAccess(app).filter((r) => !r.public);
    expect(routes.length).toBeGreaterThan(40);
    for (const route of routes) {
      for (const headers of [NO_KEY, WRONG_KEY]) {
        const r = await app.inject({ method: route.method as 'GET', url: fill(route.url), headers });
        expect(r.statusCode, `${route.method} ${route.url}`).toBe(401);
        expect(r.body).not.toContain(MARK);
      }
    }
  });

  it('the routes added late work with the key', async () => {
    const r = await app.inject({ method: 'GET', url: '/internal/debug', headers: { 'x-api-key': KEY } });
    expect(r.statusCode).toBe(200);
  });
});

describe('CORS', () => {
  const FOREIGN = 'https://evil.example';
  const ALLOWED = 'http://localhost:3000';
  const preflight = (origin: string) => ({
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,x-api-key,content-type,anthropic-dangerous-direct-browser-access',
  });

  async function sessionOf(p: PaddockProcess): Promise<string> {
    const agent = await p.client.beta.agents.create({ name: 'cors', model: 'claude-opus-4-7' });
    const env = await p.client.beta.environments.create({ name: `cors-${Math.random()}` });
    return (await p.client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
  }

  describe('by default', () => {
    const p = usePaddock();

    it('sends no CORS headers to any origin, on responses, preflights or event streams', async () => {
      const sessionId = await sessionOf(p);
      const got = [
        await send(p, 'GET', '/v1/agents', { origin: FOREIGN, 'x-api-key': p.apiKey }),
        await send(p, 'GET', '/v1/agents', { origin: ALLOWED, 'x-api-key': p.apiKey }),
        await send(p, 'OPTIONS', '/v1/agents', preflight(FOREIGN)),
        await streamHeaders(p, `/v1/sessions/${sessionId}/events/stream`, { origin: FOREIGN, 'x-api-key': p.apiKey }),
      ];
      for (const r of got) {
        expect(r.headers['access-control-allow-origin']).toBeUndefined();
        expect(r.headers['access-control-allow-credentials']).toBeUndefined();
      }
      expect(got.map((r) => r.status)).toEqual([200, 200, 401, 200]);
    });
  });

  describe('with PADDOCK_CORS_ORIGINS', () => {
    const p = usePaddock({ env: { PADDOCK_CORS_ORIGINS: `https://other.example, ${ALLOWED}` } });

    it('allows a listed origin, without credentials mode, on responses, preflights and event streams', async () => {
      const sessionId = await sessionOf(p);
      const pre = await send(p, 'OPTIONS', '/v1/agents', preflight(ALLOWED));
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe(ALLOWED);
      // Listed by name: a `*` would not cover Authorization, which the SDK sends with an auth token.
      const allowed = String(pre.headers['access-control-allow-headers']).toLowerCase();
      for (const h of ['authorization', 'x-api-key', 'anthropic-dangerous-direct-browser-access']) expect(allowed).toContain(h);
      const got = await send(p, 'GET', '/v1/agents', { origin: ALLOWED, 'x-api-key': p.apiKey });
      expect(got.status).toBe(200);
      expect(got.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(got.headers['access-control-expose-headers']).toContain('request-id');
      const stream = await streamHeaders(p, `/v1/sessions/${sessionId}/events/stream`, { origin: ALLOWED, 'x-api-key': p.apiKey });
      expect(stream.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(stream.headers['request-id']).toMatch(/^req_/);
      for (const r of [pre, got, stream]) expect(r.headers['access-control-allow-credentials']).toBeUndefined();
      // A browser needs the 401 to be readable too, to tell its user the key is wrong.
      const denied = await send(p, 'GET', '/v1/agents', { origin: ALLOWED });
      expect(denied.status).toBe(401);
      expect(denied.headers['access-control-allow-origin']).toBe(ALLOWED);
    });

    it('does not allow any other origin, nor a near miss of a listed one', async () => {
      const sessionId = await sessionOf(p);
      for (const origin of [FOREIGN, 'http://localhost:3001', 'https://localhost:3000', 'http://localhost:3000.evil.example', 'null']) {
        const pre = await send(p, 'OPTIONS', '/v1/agents', preflight(origin));
        const got = await send(p, 'GET', '/v1/agents', { origin, 'x-api-key': p.apiKey });
        const stream = await streamHeaders(p, `/v1/sessions/${sessionId}/events/stream`, { origin, 'x-api-key': p.apiKey });
        for (const r of [pre, got, stream]) expect(r.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });

    it('a preflight is not a way around the key: only OPTIONS gets the bare 204', async () => {
      const r = await send(p, 'GET', '/%761/agents', preflight(ALLOWED));
      expect401(r, 'GET with preflight headers');
    });
  });

  describe('with PADDOCK_CORS_ORIGINS=*', () => {
    const p = usePaddock({ env: { PADDOCK_CORS_ORIGINS: '*' } });

    it('allows any origin, without credentials mode', async () => {
      const got = await send(p, 'GET', '/v1/agents', { origin: FOREIGN, 'x-api-key': p.apiKey });
      expect(got.headers['access-control-allow-origin']).toBe('*');
      expect(got.headers['access-control-allow-credentials']).toBeUndefined();
    });
  });

  it.each(['https://app.example.com/', 'app.example.com', 'https://App.example.com', 'https://app.example.com/path'])(
    'refuses to start with PADDOCK_CORS_ORIGINS=%s, naming the variable',
    async (bad) => {
      const err = await startPaddock({ env: { PADDOCK_CORS_ORIGINS: bad } }).then(
        (p) => p.stop().then(() => undefined),
        (e: Error) => e,
      );
      expect(err?.message).toContain('PADDOCK_CORS_ORIGINS');
    },
  );
});
