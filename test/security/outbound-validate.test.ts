import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenLoopback, type LoopbackListener } from '../support/loopback-listener.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';
import { SdkShapes } from '../support/sdk-shapes.js';

/**
 * `mcp_oauth_validate` against a real Paddock: the server's own outbound calls refuse loopback in
 * any spelling unless PADDOCK_OUTBOUND_ALLOW_HOSTS names it, and what comes back from a token
 * endpoint or an MCP server that echoes secrets in encoded forms reaches the API user in none.
 */

// Secrets with characters that URL-encoding, JSON-escaping and base64 all change (ASCII: they
// travel in headers too).
const stamp = () => Math.random().toString(36).slice(2);
const RT = `rt/${stamp()}+"q"&\\=1`;
const AT = `at/${stamp()}+"q"&\\=2`;
const CS = `cs/${stamp()}+"q"&\\=3`;
const NEW_RT = `new-rt/${stamp()}+"q"=4`;
const NEW_AT = `new-at/${stamp()}+"q"=5`;

/** How a careless server echoes a secret: in clear inside JSON, URL- and form-encoded, hex, base64 plain and misaligned. */
function echoes(s: string): Record<string, string> {
  return {
    detail: `token ${s} is not valid`,
    url: encodeURIComponent(s),
    form: new URLSearchParams({ t: s }).toString(),
    hex: Buffer.from(s).toString('hex'),
    b64: Buffer.from(s).toString('base64'),
    b64url: Buffer.from(s).toString('base64url'),
    basic: Buffer.from(`client:${s}`).toString('base64'),
  };
}

/** Every readable trace of a secret: the forms above, and base64 at each byte alignment. */
function traces(s: string): string[] {
  const out = [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s), new URLSearchParams({ t: s }).toString().slice(2), Buffer.from(s).toString('hex')];
  for (let pad = 0; pad < 3; pad++) {
    const core = Buffer.concat([Buffer.alloc(pad), Buffer.from(s)])
      .toString('base64')
      .slice(4, -4);
    out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (d) => (s += d));
    req.on('end', () => resolve(s));
  });
}

let server: LoopbackListener;
let tokenRequests = 0;
let closed: PaddockProcess; // no allow-list: loopback is refused
let open: PaddockProcess; // PADDOCK_OUTBOUND_ALLOW_HOSTS=127.0.0.1

beforeAll(async () => {
  server = await listenLoopback(async (req, res) => {
    const body = await read(req);
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.url?.startsWith('/token')) tokenRequests++;
    if (req.url?.startsWith('/mcp')) {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (token === NEW_AT) return json(200, { jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18', capabilities: {} } });
      return json(401, { error: 'invalid_token', ...echoes(token) });
    }
    const rt = new URLSearchParams(body).get('refresh_token') ?? '';
    const cs = new URLSearchParams(body).get('client_secret') ?? '';
    if (req.url === '/token-fails') return json(400, { error: 'invalid_grant', ...echoes(rt), client: echoes(cs) });
    if (req.url === '/token-ok') return json(200, { access_token: NEW_AT, refresh_token: NEW_RT, expires_in: 3600, echo: echoes(rt), client: echoes(cs) });
    res.writeHead(404).end();
  });
  [closed, open] = await Promise.all([startPaddock(), startPaddock({ env: { PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' } })]);
});
afterAll(async () => {
  await Promise.all([closed?.stop(), open?.stop()]);
  server?.close();
});

async function credential(p: PaddockProcess, auth: Record<string, unknown>): Promise<string> {
  const vault = await p.client.beta.vaults.create({ display_name: 'outbound' });
  const c = await raw(p, 'POST', `/v1/vaults/${vault.id}/credentials`, { body: { auth } });
  expect(c.status, c.text).toBe(200);
  return `/v1/vaults/${vault.id}/credentials/${c.json.id}/mcp_oauth_validate`;
}

const oauth = (base: string, tokenPath: string) => ({
  type: 'mcp_oauth',
  mcp_server_url: `${base}/mcp`,
  access_token: AT,
  refresh: {
    client_id: 'client',
    refresh_token: RT,
    token_endpoint: `${base}${tokenPath}`,
    token_endpoint_auth: { type: 'client_secret_post', client_secret: CS },
  },
});

const refusals = (p: PaddockProcess) =>
  p
    .output()
    .split('\n')
    .filter((l) => l.includes('outbound connection refused'));

describe("the server's outbound calls", () => {
  it('refuse loopback in any spelling, reach nothing, and log why without the secret', async () => {
    // Against a real process only spellings whose packets stay on loopback, should the rule break
    // (test/security/egress-sweep.test.ts covers the rest with a connector that opens nothing else).
    const spellings = ['127.0.0.1', '127.1', '2130706433', '0x7f.1', '0177.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', 'localhost', 'LOCALHOST.'];
    server.hits = 0;
    for (const host of spellings) {
      const v = await raw(closed, 'POST', await credential(closed, oauth(`http://${host}:${server.port}`, '/token-ok')));
      expect(v.status).toBe(200);
      expect(v.json, host).toMatchObject({ status: 'unknown', mcp_probe: { method: 'initialize', http_response: null }, refresh: null });
    }
    expect(server.hits).toBe(0);
    // Log lines reach the pipe a moment after the response.
    await vi.waitFor(() => expect(refusals(closed)).toHaveLength(spellings.length));
    const lines = refusals(closed);
    for (const line of lines) {
      expect(JSON.parse(line)).toMatchObject({
        port: server.port,
        reason: expect.stringMatching(/loopback address \(PADDOCK_OUTBOUND_ALLOW_HOSTS can allow it\)$/),
      });
      for (const s of [RT, AT, CS]) for (const t of traces(s)) expect(line).not.toContain(t);
    }
  });

  it('reach a loopback server that PADDOCK_OUTBOUND_ALLOW_HOSTS names, and only that', async () => {
    server.hits = 0;
    tokenRequests = 0;
    const v = await raw(open, 'POST', await credential(open, oauth(`http://127.0.0.1:${server.port}`, '/token-ok')));
    expect(v.json).toMatchObject({ status: 'valid', refresh: { status: 'succeeded' }, mcp_probe: { http_response: { status_code: 200 } } });
    expect(tokenRequests).toBe(1);
    expect(server.hits).toBeGreaterThan(0);
    // The MCP server (127.0.0.1) answers 401, so the refresh grant runs: its endpoint is loopback
    // under another address, which the allow-list does not name.
    const before = refusals(open).length;
    const hosts = ['[::1]', '127.0.0.2', '0x7f.2', '[::ffff:127.0.0.2]'];
    for (const host of hosts) {
      const auth = { ...oauth(`http://127.0.0.1:${server.port}`, '/token-ok'), mcp_server_url: `http://127.0.0.1:${server.port}/mcp?${host}` };
      auth.refresh = { ...auth.refresh, token_endpoint: `http://${host}:${server.port}/token-ok` };
      const r = await raw(open, 'POST', await credential(open, auth));
      expect(r.json, host).toMatchObject({
        status: 'invalid',
        mcp_probe: { http_response: { status_code: 401 } },
        refresh: { status: 'connect_error', http_response: null },
      });
    }
    expect(tokenRequests).toBe(1);
    await vi.waitFor(() => expect(refusals(open).length - before).toBe(hosts.length));
  });
});

describe('PADDOCK_OUTBOUND_ALLOW_HOSTS', () => {
  it('stops start-up on an entry that is not a host, an address or a CIDR range, and names it', async () => {
    for (const bad of ['10.0.0.0/99', 'user@host', '127.0.0.1:80']) {
      const err = await startPaddock({ env: { PADDOCK_OUTBOUND_ALLOW_HOSTS: `127.0.0.1, ${bad}` } }).then(
        (p) => p.stop().then(() => `started with ${bad}`),
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(`PADDOCK_OUTBOUND_ALLOW_HOSTS: "${bad}" is not a host name, an address or a CIDR range`);
    }
  });
});

describe('mcp_oauth_validate shows no secret a server echoes', () => {
  let shapes: SdkShapes;
  beforeAll(() => {
    shapes = SdkShapes.load(['resources/beta/vaults/credentials.d.ts']);
  });

  const clean = (text: string, secrets: string[]) => {
    for (const s of secrets) for (const t of traces(s)) expect(text, `a trace of ${s}: ${t}`).not.toContain(t);
  };

  it('a failed refresh: the token endpoint’s body is not shown, the MCP server’s is redacted', async () => {
    const v = await raw(open, 'POST', await credential(open, oauth(`http://127.0.0.1:${server.port}`, '/token-fails')));
    expect(v.json).toMatchObject({
      status: 'invalid',
      mcp_probe: { http_response: { status_code: 401, content_type: 'application/json', body_truncated: false } },
      refresh: { status: 'failed', http_response: { status_code: 400, content_type: 'application/json', body_truncated: false } },
    });
    expect(shapes.check('BetaManagedAgentsCredentialValidation', v.json)).toEqual([]);
    const probeBody: string = v.json.mcp_probe.http_response.body;
    for (const text of [v.text, probeBody, v.json.refresh.http_response.body]) clean(text, [RT, AT, CS]);
    // Redacted, not emptied: the MCP server's answer is still there to read.
    expect(probeBody).toContain('invalid_token');
    expect(probeBody).toContain('[REDACTED]');
    expect(v.json.refresh.http_response.body).not.toContain('invalid_grant');
  });

  it('a successful refresh: neither the old nor the new tokens come back', async () => {
    const v = await raw(open, 'POST', await credential(open, oauth(`http://127.0.0.1:${server.port}`, '/token-ok')));
    expect(v.json).toMatchObject({ status: 'valid', refresh: { status: 'succeeded', http_response: { status_code: 200, body_truncated: false } } });
    expect(shapes.check('BetaManagedAgentsCredentialValidation', v.json)).toEqual([]);
    for (const text of [v.text, v.json.refresh.http_response.body]) clean(text, [RT, AT, CS, NEW_AT, NEW_RT]);
  });
});
