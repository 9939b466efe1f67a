import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';

const MAX_BODY = 64 * 1024;
let p: PaddockProcess;
let client: Anthropic;

beforeAll(async () => {
  // Browser use of the SDK needs its page's origin listed (none is by default).
  p = await startPaddock({ env: { PADDOCK_MAX_BODY_BYTES: String(MAX_BODY), PADDOCK_CORS_ORIGINS: 'http://localhost:3000' } });
  client = p.client;
});
afterAll(async () => {
  await p?.stop();
});

function expectEnvelope(r: { status: number; headers: Headers; json: any }, status: number, type: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/application\/json/);
  const rid = r.headers.get('request-id');
  expect(rid).toMatch(/^req_/);
  expect(r.json).toEqual({ type: 'error', error: expect.objectContaining({ type, message: expect.any(String) }), request_id: rid });
}

describe('auth', () => {
  it('accepts the SDK (Authorization: Bearer) and x-api-key', async () => {
    await expect(client.beta.agents.list()).resolves.toBeDefined();
    const viaHeader = await raw(p, 'GET', '/v1/agents');
    expect(viaHeader.status).toBe(200);
    const viaBearer = await raw(p, 'GET', '/v1/agents', { auth: false, headers: { authorization: `Bearer ${p.apiKey}` } });
    expect(viaBearer.status).toBe(200);
  });

  it('a wrong key or no key is an AuthenticationError in the envelope', async () => {
    const wrong = new Anthropic({ apiKey: 'sk-wrong', baseURL: p.url, maxRetries: 0 });
    const err = await wrong.beta.agents.list().catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.error.error.type).toBe('authentication_error');
    expect(err.requestID).toMatch(/^req_/);

    expectEnvelope(await raw(p, 'GET', '/v1/agents', { auth: false }), 401, 'authentication_error');
    expectEnvelope(await raw(p, 'GET', '/v1/sessions', { auth: false, headers: { authorization: 'Basic abc' } }), 401, 'authentication_error');
    expectEnvelope(await raw(p, 'GET', '/v1/agents', { auth: false, headers: { 'x-api-key': 'nope' } }), 401, 'authentication_error');
  });

  it('does not require anthropic-version or anthropic-beta, and ignores ?beta=true', async () => {
    const a = await client.beta.agents.create({ name: 'beta', model: 'claude-opus-4-7' });
    const r = await raw(p, 'GET', `/v1/agents/${a.id}?beta=true`);
    expect(r.status).toBe(200);
    expect(r.json.id).toBe(a.id);
    const listed = await raw(p, 'GET', '/v1/agents?beta=true&limit=1');
    expect(listed.status).toBe(200);
  });
});

describe('responses', () => {
  it('every response carries request-id; the SDK exposes it', async () => {
    const page = await client.beta.environments.list().withResponse();
    expect(page.request_id).toMatch(/^req_/);
    const a = await client.beta.agents.create({ name: 'rid', model: 'claude-opus-4-7' });
    expect((a as any)._request_id).toMatch(/^req_/);
    const notFound = await raw(p, 'GET', '/v1/agents/agent_01missing');
    expectEnvelope(notFound, 404, 'not_found_error');
    expectEnvelope(await raw(p, 'GET', '/v1/no-such-route'), 404, 'not_found_error');
  });

  it('action POSTs work with no body and no content-type, and with {}', async () => {
    const a = await client.beta.agents.create({ name: 'empty-body', model: 'claude-opus-4-7' });
    const r = await raw(p, 'POST', `/v1/agents/${a.id}/archive`, { headers: { 'content-length': '0' } });
    expect(r.status).toBe(200);
    expect(r.json.archived_at).not.toBeNull();
    const e = await client.beta.environments.create({ name: 'empty-body-env' });
    const withJsonType = await raw(p, 'POST', `/v1/environments/${e.id}/archive`, { rawBody: '', headers: { 'content-type': 'application/json' } });
    expect(withJsonType.status).toBe(200);
    const withObject = await raw(p, 'POST', `/v1/environments/${e.id}/archive`, { body: {} });
    expect(withObject.status).toBe(200);
  });

  it('a body over PADDOCK_MAX_BODY_BYTES is a 413 in the envelope, and the server stays up', async () => {
    const big = { name: 'big', model: 'claude-opus-4-7', system: 'x'.repeat(MAX_BODY + 10) };
    const r = await raw(p, 'POST', '/v1/agents', { body: big });
    expect(r.status).toBe(413);
    expect(r.headers.get('request-id')).toMatch(/^req_/);
    expect(r.json).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
    const viaSdk = await client.beta.agents.create(big).catch((e) => e);
    expect(viaSdk).toBeInstanceOf(Anthropic.APIError);
    expect(viaSdk.status).toBe(413);
    await expect(client.beta.agents.list()).resolves.toBeDefined();
  });

  it('malformed JSON is a 400, not a 500', async () => {
    expectEnvelope(await raw(p, 'POST', '/v1/agents', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_request_error');
  });

  it('answers CORS preflights for browser use of the SDK from a listed origin', async () => {
    const res = await fetch(`${p.url}/v1/agents`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,anthropic-dangerous-direct-browser-access,content-type',
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    expect(allowed === '*' || allowed.includes('anthropic-dangerous-direct-browser-access')).toBe(true);
  });
});

describe('pagination', () => {
  it('auto-paginates agents over more than two pages and ends on next_page: null', async () => {
    const made = [];
    for (let i = 0; i < 7; i++) made.push((await client.beta.agents.create({ name: `auto-${i}`, model: 'claude-opus-4-7' })).id);
    const seen = [];
    for await (const a of client.beta.agents.list({ limit: 3 })) seen.push(a.id);
    expect(seen.slice(0, 7)).toEqual([...made].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it.each(['/v1/agents', '/v1/environments', '/v1/sessions'])('%s: a bad cursor is a 400; an empty page= is absent', async (path) => {
    expectEnvelope(await raw(p, 'GET', `${path}?page=garbage`), 400, 'invalid_request_error');
    expectEnvelope(await raw(p, 'GET', `${path}?page=page_${Buffer.from('{"k":1}').toString('base64url')}`), 400, 'invalid_request_error');
    expect((await raw(p, 'GET', `${path}?page=&limit=`)).status).toBe(200);
    expectEnvelope(await raw(p, 'GET', `${path}?limit=0`), 400, 'invalid_request_error');
    expectEnvelope(await raw(p, 'GET', `${path}?limit=abc`), 400, 'invalid_request_error');
  });

  it('prev_page is present only on the session list', async () => {
    const a = await client.beta.agents.create({ name: 'prev', model: 'claude-opus-4-7' });
    const e = await client.beta.environments.create({ name: 'prev-env' });
    const s = await client.beta.sessions.create({ agent: a.id, environment_id: e.id });
    for (const path of ['/v1/agents', '/v1/environments', `/v1/agents/${a.id}/versions`, `/v1/sessions/${s.id}/events`]) {
      const r = await raw(p, 'GET', path);
      expect(r.status).toBe(200);
      expect(Object.keys(r.json).sort()).toEqual(['data', 'next_page']);
    }
    const sessions = await raw(p, 'GET', '/v1/sessions');
    expect(Object.keys(sessions.json).sort()).toEqual(['data', 'next_page', 'prev_page']);
  });
});
