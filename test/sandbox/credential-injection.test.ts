import { mkdtempSync, promises as fs, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { events, harness, say, waitForIdle, type Ev, type Harness } from '../runtime/harness.js';
import { testCertificates } from '../support/tls.js';

// `environment_variable` credentials through the official SDK: the sandbox sees a placeholder in
// the variable; the egress proxy puts the secret in its place only on requests to the credential's
// allowed hosts, only where injection_location allows, over plain HTTP and over HTTPS (TLS opened
// up with the installation's egress CA, the real server's certificate verified). Elsewhere the
// placeholder stays a placeholder, and the secret is nowhere a user or the sandbox could look.

const SECRET = `sk-live-${Math.random().toString(36).slice(2)}-body-and-header`;
const HEADER_SECRET = `hdr-${Math.random().toString(36).slice(2)}-header-only`;
const BIG = 2_000_000;

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let h: Harness;
const seen: Seen[] = [];
let httpServer: http.Server;
let httpsServer: https.Server;
let ports: { http: number; https: number };

/** Records what arrived and answers without echoing it (a server repeating a secret is not Paddock's leak). */
function record(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  });
}

beforeAll(async () => {
  const certs = testCertificates(['127.0.0.1', 'localhost']);
  const dir = mkdtempSync(path.join(tmpdir(), 'paddock-upstream-ca-'));
  writeFileSync(path.join(dir, 'ca.pem'), certs.caPem);
  httpServer = http.createServer(record);
  httpsServer = https.createServer({ key: certs.keyPem, cert: certs.certPem }, record);
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => httpsServer.listen(0, '127.0.0.1', r));
  ports = { http: (httpServer.address() as AddressInfo).port, https: (httpsServer.address() as AddressInfo).port };
  // The local HTTPS server's CA stands in for the public ones Paddock trusts from the host.
  h = await harness({ PADDOCK_UPSTREAM_CA_FILE: path.join(dir, 'ca.pem') });
});
afterAll(async () => {
  await h?.close();
  httpServer?.close();
  httpsServer?.close();
});

const text = (e: Ev) => (e.content as Array<{ text: string }>).map((c) => c.text).join('\n');

it('puts the secret in place of the placeholder only for allowed hosts and locations, over HTTP and HTTPS', async () => {
  const { http: ph, https: ps } = ports;
  const vault = await h.client.beta.vaults.create({ display_name: 'injection' });
  const cred = (auth: Record<string, unknown>) => h.client.beta.vaults.credentials.create(vault.id, { auth } as any);
  await cred({ type: 'environment_variable', secret_name: 'API_TOKEN', secret_value: SECRET, networking: { type: 'limited', allowed_hosts: ['127.0.0.1'] } });
  await cred({
    type: 'environment_variable',
    secret_name: 'HEADER_ONLY',
    secret_value: HEADER_SECRET,
    networking: { type: 'limited', allowed_hosts: ['127.0.0.1'] },
    injection_location: { header: true },
  });
  const blocked = await cred({
    type: 'environment_variable',
    secret_name: 'ELSEWHERE',
    secret_value: 'never-used',
    networking: { type: 'limited', allowed_hosts: ['api.blocked.example'] },
  });
  const env = await h.client.beta.environments.create({
    name: `inject-${Date.now()}`,
    config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [`127.0.0.1:${ph}`, `127.0.0.1:${ps}`, `localhost:${ph}`, `localhost:${ps}`] } },
  } as any);
  const agent = await h.client.beta.agents.create({
    name: `inject-${Date.now()}`,
    model: 'claude-sonnet-4-6',
    tools: [{ type: 'agent_toolset_20260401' }],
  } as any);
  const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [vault.id] } as any);

  // Loopback stands in for remote hosts: --noproxy '' sends even 127.0.0.1 through the proxy.
  const curl = `curl -sS --noproxy '' -H "Authorization: Bearer $API_TOKEN" -H "X-Header-Only: $HEADER_ONLY" --data "token=$API_TOKEN&other=$HEADER_ONLY"`;
  const commands = [
    'echo "$API_TOKEN"; echo "$HEADER_ONLY"',
    `${curl} http://127.0.0.1:${ph}/allowed-http`,
    `${curl} https://127.0.0.1:${ps}/allowed-https`,
    `${curl} http://localhost:${ph}/other-http`,
    // Not a credential host: a blind tunnel, so the sandbox sees the server's own certificate.
    `${curl} --insecure https://localhost:${ps}/other-https`,
    // A body larger than the proxy holds at once, ending in a placeholder: streamed, chunked.
    `head -c ${BIG} /dev/zero | tr '\\0' a > /tmp/big && printf %s "$API_TOKEN" >> /tmp/big && curl -sS --noproxy '' --data-binary @/tmp/big https://127.0.0.1:${ps}/big`,
    'env; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; tr "\\0" "\\n" < $p/environ; done 2>/dev/null; cat /tmp/big | tail -c 80',
  ];
  h.model.enqueue(...commands.map((command) => ({ content: [{ type: 'tool_use' as const, name: 'bash', input: { command } }] })), {
    content: [{ type: 'text', text: 'done' }],
  });
  await say(h.client, session.id, 'call the APIs');
  const log = await waitForIdle(h.client, session.id, 1, 120_000);
  const results = log.filter((e) => e.type === 'agent.tool_result');
  expect(results.map((r) => [r.is_error, text(r).slice(0, 200)])).toEqual([
    [false, expect.stringMatching(/^paddock-secret-[0-9a-f]{40}\npaddock-secret-[0-9a-f]{40}$/)],
    [false, 'ok'],
    [false, 'ok'],
    [false, 'ok'],
    [false, 'ok'],
    [false, 'ok'],
    [false, expect.any(String)],
  ]);
  const [apiPh, headerPh] = text(results[0]).split('\n');

  const at = (p: string) => seen.find((s) => s.path === p)!;
  for (const p of ['/allowed-http', '/allowed-https']) {
    expect(at(p).headers.authorization, p).toBe(`Bearer ${SECRET}`);
    expect(at(p).headers['x-header-only'], p).toBe(HEADER_SECRET);
    // HEADER_ONLY's injection_location leaves bodies alone.
    expect(at(p).body, p).toBe(`token=${SECRET}&other=${headerPh}`);
    expect(at(p).headers['content-length'], p).toBe(String(Buffer.byteLength(at(p).body)));
  }
  for (const p of ['/other-http', '/other-https']) {
    expect(at(p).headers.authorization, p).toBe(`Bearer ${apiPh}`);
    expect(at(p).headers['x-header-only'], p).toBe(headerPh);
    expect(at(p).body, p).toBe(`token=${apiPh}&other=${headerPh}`);
  }
  expect(at('/big').body.length).toBe(BIG + SECRET.length);
  expect(at('/big').body.endsWith(`a${SECRET}`)).toBe(true);
  // Held no further than the proxy's bound: it went on chunked, its length unknown in advance.
  expect(at('/big').headers['transfer-encoding']).toBe('chunked');

  // A credential whose host the environment never lets the sandbox reach is reported.
  expect(log.filter((e) => e.type === 'session.error').map((e) => e.error)).toEqual([
    {
      type: 'credential_host_unreachable_error',
      message: expect.stringContaining('api.blocked.example'),
      credential_id: blocked.id,
      vault_id: vault.id,
      retry_status: { type: 'retrying' },
    },
  ]);

  // The secrets are nowhere else: not in the sandbox (environment, processes, files), not in any
  // event, response or log line.
  const scan = text(results[6]);
  expect(scan).toContain(`API_TOKEN=${apiPh}`);
  const sandboxFiles = await filesUnder(path.join(h.p.dataDir, 'sandboxes', session.id));
  const everywhere = [
    scan,
    JSON.stringify(await events(h.client, session.id)),
    h.p.output(),
    JSON.stringify(await h.client.beta.vaults.credentials.list(vault.id)),
  ];
  for (const secret of [SECRET, HEADER_SECRET]) {
    for (const place of everywhere) expect(place).not.toContain(secret);
    for (const f of sandboxFiles) expect((await fs.readFile(f)).includes(secret), f).toBe(false);
  }
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile() && e.name !== 'volume.img') out.push(p);
  }
  return out;
}
