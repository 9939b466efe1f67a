import { mkdtempSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CA_FILE, EgressCA } from '../../src/sandbox/egress/ca.js';
import { EgressGate } from '../../src/sandbox/egress/gate.js';
import { Injector, placeholderFor, repositoryRule, type CredentialRule } from '../../src/sandbox/egress/inject.js';
import { EgressProxy } from '../../src/sandbox/egress/proxy.js';
import { Substitution } from '../../src/sandbox/egress/substitute.js';
import { testCertificates } from '../support/tls.js';

// The egress proxy's mechanics, driven directly as a sandbox would drive it over its socket:
// where TLS is opened up, what is added where, and that the real server is verified first.

const SECRET = 'the-real-secret-value';
const TOKEN = 'ghp_proxyRepoToken';
const log = pino({ level: 'silent' });
const dir = mkdtempSync(path.join(tmpdir(), 'paddock-egress-'));
const certs = testCertificates(['127.0.0.1']);
const seen: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }> = [];
let httpsPort: number;
let httpPort: number;
let servers: net.Server[] = [];
let ca: EgressCA;

function record(req: http.IncomingMessage, res: http.ServerResponse): void {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    seen.push({ path: req.url ?? '', headers: req.headers, body });
    res.end('ok');
  });
}

beforeAll(async () => {
  const a = https.createServer({ key: certs.keyPem, cert: certs.certPem }, record);
  const b = http.createServer(record);
  await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => b.listen(0, '127.0.0.1', r));
  httpsPort = (a.address() as AddressInfo).port;
  httpPort = (b.address() as AddressInfo).port;
  servers = [a, b];
  ca = EgressCA.load(dir);
});
afterAll(() => servers.forEach((s) => s.close()));

async function proxy(opts: { trustTestCa: boolean; credentials?: CredentialRule[]; repos?: ReturnType<typeof repositoryRule>[] }) {
  const gate = new EgressGate({
    sessionId: 'sesn_proxy',
    networking: {
      type: 'limited',
      allowed_hosts: [`127.0.0.1:${httpsPort}`, `127.0.0.1:${httpPort}`, `localhost:${httpPort}`],
      allow_mcp_servers: false,
      allow_package_managers: false,
    },
    mcpHosts: [],
    serverPort: () => 1,
    log,
  });
  const socketPath = path.join(dir, `proxy-${Math.random().toString(36).slice(2)}.sock`);
  const upstreamTrust = tls.createSecureContext({ ca: opts.trustTestCa ? [...tls.rootCertificates, certs.caPem] : [...tls.rootCertificates] });
  const p = new EgressProxy(socketPath, gate, { injector: new Injector(opts.credentials ?? [], opts.repos ?? []), ca, upstreamTrust, log });
  await p.start();
  return { p, socketPath };
}

/** CONNECT through the proxy, then one HTTPS request trusting only the egress CA. */
function viaConnect(
  socketPath: string,
  port: number,
  reqPath: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; text: string; peerIssuer?: string }> {
  return new Promise((resolve, reject) => {
    const c = http.request({ socketPath, method: 'CONNECT', path: `127.0.0.1:${port}` });
    c.on('connect', (res, socket) => {
      if (res.statusCode !== 200) return reject(new Error(`CONNECT ${res.statusCode}`));
      const t = tls.connect({ socket, ca: [ca.certPem], host: '127.0.0.1', servername: undefined });
      t.on('error', reject);
      t.on('secureConnect', () => {
        const issuer = String(t.getPeerCertificate().issuer?.CN);
        const r = http.request({ createConnection: () => t, method: 'POST', path: reqPath, headers: { host: `127.0.0.1:${port}`, ...headers } }, (resp) => {
          let text = '';
          resp.on('data', (d) => (text += d));
          resp.on('end', () => resolve({ status: resp.statusCode ?? 0, text, peerIssuer: issuer }));
        });
        r.on('error', reject);
        r.end(body);
      });
    });
    c.on('error', reject);
    c.end();
  });
}

function viaPlain(socketPath: string, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request({ socketPath, method: 'GET', path: url, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end();
  });
}

const credential = (hosts: string[] | 'any'): CredentialRule => ({
  credentialId: 'vcrd_1',
  vaultId: 'vlt_1',
  placeholder: placeholderFor('sesn_proxy', 'vcrd_1'),
  hosts,
  header: true,
  body: true,
  value: async () => SECRET,
});

describe('TLS interception', () => {
  it('presents a certificate from the egress CA for a credential host, and adds the secret', async () => {
    const { p, socketPath } = await proxy({ trustTestCa: true, credentials: [credential(['127.0.0.1'])] });
    try {
      const ph = placeholderFor('sesn_proxy', 'vcrd_1');
      const r = await viaConnect(socketPath, httpsPort, '/with-secret', { authorization: `Bearer ${ph}` }, `k=${ph}`);
      expect(r).toMatchObject({ status: 200, text: 'ok', peerIssuer: expect.stringMatching(/^Paddock egress CA /) });
      expect(seen.at(-1)).toMatchObject({ path: '/with-secret', body: `k=${SECRET}`, headers: { authorization: `Bearer ${SECRET}` } });
    } finally {
      await p.close();
    }
  });

  it("refuses to go on when the real server's certificate does not verify: nothing is sent", async () => {
    const { p, socketPath } = await proxy({ trustTestCa: false, credentials: [credential(['127.0.0.1'])] });
    try {
      const before = seen.length;
      const r = await viaConnect(socketPath, httpsPort, '/unverified', { authorization: `Bearer ${placeholderFor('sesn_proxy', 'vcrd_1')}` });
      expect(r.status).toBe(502);
      expect(r.text).toMatch(/TLS to 127\.0\.0\.1 failed .*self[- ]signed|unable to (get local issuer|verify)/i);
      expect(seen.length).toBe(before);
    } finally {
      await p.close();
    }
  });

  it('leaves other hosts a blind tunnel (the sandbox sees the server itself)', async () => {
    const { p, socketPath } = await proxy({ trustTestCa: true, credentials: [credential(['api.example.com'])] });
    try {
      await expect(viaConnect(socketPath, httpsPort, '/blind', {})).rejects.toThrow(/self[- ]signed|unable to (get local issuer|verify)/i);
    } finally {
      await p.close();
    }
  });
});

describe('repository tokens', () => {
  it('are added on requests under that repository, at its host and port, and nowhere else', async () => {
    const repo = repositoryRule('sesrsc_1', `http://127.0.0.1:${httpPort}/acme/widgets`, async () => TOKEN);
    const { p, socketPath } = await proxy({ trustTestCa: true, repos: [repo] });
    const basic = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
    const cases: Array<[string, boolean, string]> = [
      [`http://127.0.0.1:${httpPort}/acme/widgets/info/refs?service=git-upload-pack`, true, '/acme/widgets/info/refs?service=git-upload-pack'],
      [`http://127.0.0.1:${httpPort}/acme/widgets.git/git-receive-pack`, true, '/acme/widgets.git/git-receive-pack'],
      [`http://127.0.0.1:${httpPort}/acme/widgets-evil/info/refs`, false, '/acme/widgets-evil/info/refs'],
      [`http://127.0.0.1:${httpPort}/acme/widgets/../other/info/refs`, false, '/acme/other/info/refs'],
      [`http://127.0.0.1:${httpPort}/acme/widgets/%2e%2e/other/info/refs`, false, '/acme/other/info/refs'],
      [`http://127.0.0.1:${httpPort}/acme/Widgets/info/refs`, false, '/acme/Widgets/info/refs'],
      [`http://localhost:${httpPort}/acme/widgets/info/refs`, false, '/acme/widgets/info/refs'],
    ];
    try {
      for (const [url, withToken, sentPath] of cases) {
        expect(await viaPlain(socketPath, url, { authorization: 'Basic c2FuZGJveDpndWVzcw==' })).toBe(200);
        const got = seen.at(-1)!;
        expect(got.path, url).toBe(sentPath);
        expect(got.headers.authorization, url).toBe(withToken ? basic : 'Basic c2FuZGJveDpndWVzcw==');
      }
    } finally {
      await p.close();
    }
  });
});

describe('substitution', () => {
  it('replaces placeholders split anywhere across chunks, and nothing else', async () => {
    const ph = placeholderFor('s', 'c');
    const other = placeholderFor('s', 'unknown');
    const sub = new Substitution('paddock-secret-', new Map([[ph, 'SECRET']]));
    const input = `a${ph}b${ph}${ph}c${other}d${ph.slice(0, 20)}e${ph}`;
    const expected = `aSECRETbSECRETSECRETc${other}d${ph.slice(0, 20)}eSECRET`;
    for (const size of [1, 2, 7, ph.length - 1, ph.length, ph.length + 1, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) chunks.push(Buffer.from(input.slice(i, i + size)));
      let out = '';
      for await (const c of Readable.from(chunks).pipe(sub.transform())) out += c;
      expect(out, `chunks of ${size}`).toBe(expected);
    }
    expect(sub.text(`Bearer ${ph}`)).toBe('Bearer SECRET');
  });
});

describe('the egress CA', () => {
  it('is made once per data dir, its key readable by the owner only', () => {
    const again = EgressCA.load(dir);
    expect(again.certPem).toBe(ca.certPem);
    expect(statSync(path.join(dir, CA_FILE)).mode & 0o777).toBe(0o600);
  });
});
