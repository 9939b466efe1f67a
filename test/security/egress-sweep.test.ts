import { promises as dnsPromises } from 'node:dns';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Networking } from '../../src/domain/environments.js';
import { tcpConnect, type Connector } from '../../src/net/connect.js';
import { Outbound } from '../../src/net/outbound.js';
import { EgressGate } from '../../src/sandbox/egress/gate.js';
import { EgressProxy } from '../../src/sandbox/egress/proxy.js';
import { webFetch } from '../../src/tools/web-fetch.js';
import { probeMcp, refreshGrant } from '../../src/vault/oauth.js';
import { listenLoopback, type LoopbackListener } from '../support/loopback-listener.js';

/**
 * Every spelling of a loopback, unspecified, link-local, private or reserved address, pushed
 * through each way out: the sandbox's egress proxy (CONNECT and absolute-form), web_fetch, and the
 * server's outbound port (OAuth refresh, MCP probe). All must be refused.
 *
 * This machine may send packets to loopback only, so connections are opened by a watched connector
 * that records every address it is asked for and opens only 127.0.0.0/8 and ::1: a refusal must
 * happen before it is called. Name resolution is watched too: no spelling here may reach a
 * resolver. Real listeners on loopback (a local-only service, and one standing in for Paddock's
 * port) prove that the loopback spellings never arrive.
 */
const SPELLINGS = [
  // loopback
  '127.0.0.1',
  '127.1',
  '127.0.1',
  '2130706433',
  '0x7f000001',
  '0x7f.1',
  '0177.0.0.1',
  '0x7f.0.0.1',
  '017700000001',
  '127.255.255.254',
  '[::1]',
  '[0:0:0:0:0:0:0:1]',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '[::127.0.0.1]',
  '[::ffff:0:7f00:1]',
  '[64:ff9b::7f00:1]',
  '[2002:7f00:1::]',
  '[2001:0:4136:e378:8000:63bf:80ff:fffe]',
  'localhost',
  'localhost.',
  'LOCALHOST',
  'api.localhost',
  // unspecified
  '0',
  '0.0.0.0',
  '[::]',
  '[::ffff:0.0.0.0]',
  // link-local, cloud metadata
  '169.254.169.254',
  '2852039166',
  '0xa9.0xfe.0xa9.0xfe',
  '[fe80::1]',
  '[::ffff:a9fe:a9fe]',
  '[::ffff:169.254.169.254]',
  '[2002:a9fe:a9fe::]',
  // private, shared, unique-local, site-local
  '10.0.0.1',
  '192.168.1.1',
  '172.16.0.1',
  '100.64.0.1',
  '[::ffff:10.0.0.1]',
  '[fc00::1]',
  '[fec0::1]',
  '[64:ff9b:1::a00:1]',
  // multicast, broadcast, reserved, documentation, benchmarking
  '224.0.0.1',
  '[ff02::1]',
  '255.255.255.255',
  '240.0.0.1',
  '198.18.0.1',
  '192.0.2.1',
  '[2001:db8::1]',
];
// The spellings of this machine itself: refused on Paddock's port even when named exactly.
const SELF = [...SPELLINGS.slice(0, SPELLINGS.indexOf('[::ffff:0.0.0.0]') + 1)];
// This machine's other interface addresses (never connected to: the connector would refuse).
const INTERFACES = Object.values(networkInterfaces())
  .flat()
  .filter((i) => i && !i.internal)
  .map((i) => (i!.family === 'IPv6' ? `[${i!.address.split('%')[0]}]` : i!.address));

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;
let connects: string[] = [];
const watched: Connector = async (address, port, signal) => {
  connects.push(`${address}:${port}`);
  if (!LOOPBACK.test(address)) throw new Error(`test connector: will not open ${address}:${port} (outside loopback)`);
  return tcpConnect(address, port, signal);
};

let service: LoopbackListener; // a loopback-only service
let paddock: LoopbackListener; // stands in for Paddock's own port
let dir: string;

beforeAll(async () => {
  service = await listenLoopback((_req, res) => res.end('LOCAL-SERVICE'));
  paddock = await listenLoopback((_req, res) => res.end('PADDOCK-API'));
  dir = mkdtempSync(path.join(tmpdir(), 'paddock-sweep-'));
});
afterAll(() => {
  service.close();
  paddock.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  connects = [];
  service.hits = 0;
  paddock.hits = 0;
  // No spelling here is a name a resolver should see (localhost names are answered without one).
  vi.spyOn(dnsPromises, 'lookup').mockImplementation(async (host: string) => {
    throw new Error(`test: ${host} reached the resolver`);
  });
});
afterEach(() => vi.restoreAllMocks());

const unrestricted: Networking = { type: 'unrestricted' };
const named = (hosts: string[]): Networking => ({ type: 'limited', allowed_hosts: hosts, allow_mcp_servers: false, allow_package_managers: false });
const gateFor = (networking: Networking) =>
  new EgressGate({ sessionId: 'sesn_sweep', networking, mcpHosts: [], serverPort: () => paddock.port, log: pino({ level: 'silent' }), connect: watched });

/** Runs one request through a fresh egress proxy on a unix socket, as the sandbox would. */
async function viaProxy<T>(networking: Networking, fn: (socketPath: string) => Promise<T>): Promise<T> {
  const socketPath = path.join(dir, `proxy-${Math.random().toString(36).slice(2)}.sock`);
  const proxy = new EgressProxy(socketPath, gateFor(networking));
  await proxy.start();
  try {
    return await fn(socketPath);
  } finally {
    await proxy.close();
  }
}

function connectThrough(socketPath: string, target: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'CONNECT', path: target });
    req.on('connect', (res, socket, head) => {
      if (res.statusCode === 200) {
        socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      }
      let text = head.toString();
      socket.on('data', (d) => (text += d));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, text }));
      socket.on('error', () => {});
    });
    req.on('error', reject);
    req.end();
  });
}

function getThrough(socketPath: string, url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'GET', path: url, headers: { host: new URL(url).host } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the sandbox egress proxy', () => {
  it('reaches a loopback service only when its host is named exactly (the sweep can see a connection)', async () => {
    const r = await viaProxy(named([`127.0.0.1:${service.port}`]), (s) => connectThrough(s, `127.0.0.1:${service.port}`));
    expect(r.status).toBe(200);
    expect(r.text).toContain('LOCAL-SERVICE');
    expect(connects).toEqual([`127.0.0.1:${service.port}`]);
    expect(service.hits).toBe(1);
  });

  it.each(SPELLINGS)('CONNECT %s is refused before any connection', async (host) => {
    const r = await viaProxy(unrestricted, (s) => connectThrough(s, `${host}:${service.port}`));
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/refused/);
    expect(r.text).not.toContain('LOCAL-SERVICE');
    expect(connects).toEqual([]);
    expect(service.hits).toBe(0);
  });

  it.each(SPELLINGS)('GET http://%s/ is refused before any connection', async (host) => {
    const r = await viaProxy(unrestricted, (s) => getThrough(s, `http://${host}:${service.port}/`));
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/refused/);
    expect(connects).toEqual([]);
    expect(service.hits).toBe(0);
  });

  it("never reaches Paddock's port on this machine, even when the host is named exactly", async () => {
    for (const host of [...SELF, ...INTERFACES]) {
      const networking = named([host]);
      const tunnel = await viaProxy(networking, (s) => connectThrough(s, `${host}:${paddock.port}`));
      expect(tunnel.status, host).toBe(403);
      expect(tunnel.text, host).toMatch(/is the Paddock server itself/);
      const get = await viaProxy(networking, (s) => getThrough(s, `http://${host}:${paddock.port}/`));
      expect(get.status, host).toBe(403);
      expect(get.text, host).toMatch(/is the Paddock server itself/);
    }
    expect(connects).toEqual([]);
    expect(paddock.hits).toBe(0);
  });
});

describe('web_fetch', () => {
  const fetchWith = (networking: Networking, url: string) => webFetch({ url }, gateFor(networking), undefined, new AbortController().signal);
  const text = (o: Awaited<ReturnType<typeof webFetch>>) => o.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

  it('reaches a loopback service only when its host is named exactly', async () => {
    const r = await fetchWith(named([`127.0.0.1:${service.port}`]), `http://127.0.0.1:${service.port}/`);
    expect(text(r)).toContain('LOCAL-SERVICE');
    expect(service.hits).toBe(1);
  });

  it.each(SPELLINGS)('http://%s/ is refused before any connection', async (host) => {
    const r = await fetchWith(unrestricted, `http://${host}:${service.port}/`);
    expect(r.is_error).toBe(true);
    expect(text(r)).toMatch(/^web_fetch: network egress to .* refused: /);
    expect(connects).toEqual([]);
    expect(service.hits).toBe(0);
  });

  it("never reaches Paddock's port on this machine, even when the host is named exactly", async () => {
    for (const host of [...SELF, ...INTERFACES]) {
      const r = await fetchWith(named([host]), `http://${host}:${paddock.port}/`);
      expect(text(r), host).toMatch(/is the Paddock server itself/);
    }
    expect(connects).toEqual([]);
    expect(paddock.hits).toBe(0);
  });
});

describe("the server's outbound port (OAuth refresh, MCP probe)", () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const outbound = (allow: string[] = []) => new Outbound({ allow, serverPort: () => paddock.port, log, connect: watched });
  const SECRET = 'rt-sweep-secret-0123456789';
  const refresh = (o: Outbound, endpoint: string) =>
    refreshGrant(o, { client_id: 'cid', token_endpoint: endpoint, token_endpoint_auth: { type: 'none' } }, { refresh_token: SECRET });

  it('reaches a loopback server only when PADDOCK_OUTBOUND_ALLOW_HOSTS names it', async () => {
    const probe = await probeMcp(outbound(['127.0.0.0/8']), `http://127.0.0.1:${service.port}/mcp`, SECRET);
    expect(probe.http_response).toMatchObject({ status_code: 200, body: 'LOCAL-SERVICE' });
    expect(service.hits).toBe(1);
    expect((await probeMcp(outbound(['localhost']), `http://localhost:${service.port}/mcp`, SECRET)).http_response?.status_code).toBe(200);
  });

  it.each(SPELLINGS)('%s is refused before any connection, with a log line that says why', async (host) => {
    lines.length = 0;
    const o = outbound();
    expect(await refresh(o, `http://${host}:${service.port}/token`)).toEqual({ status: 'connect_error', http_response: null });
    expect(await probeMcp(o, `http://${host}:${service.port}/mcp`, SECRET)).toEqual({ method: 'initialize', http_response: null });
    expect(connects).toEqual([]);
    expect(service.hits).toBe(0);
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatchObject({
        msg: 'outbound connection refused',
        port: service.port,
        reason: expect.stringMatching(/ address .*PADDOCK_OUTBOUND_ALLOW_HOSTS/),
      });
      expect(JSON.stringify(l)).not.toContain(SECRET);
    }
  });

  it("never reaches Paddock's port on this machine, even when the allow-list names it", async () => {
    for (const host of [...SELF, ...INTERFACES]) {
      const o = outbound([host.replace(/^\[|\]$/g, ''), '0.0.0.0/0', '::/0']);
      expect(await refresh(o, `http://${host}:${paddock.port}/token`), host).toEqual({ status: 'connect_error', http_response: null });
      expect((await probeMcp(o, `http://${host}:${paddock.port}/mcp`, SECRET)).http_response, host).toBeNull();
    }
    expect(connects).toEqual([]);
    expect(paddock.hits).toBe(0);
  });
});
