import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startPaddock, type PaddockProcess, type StartOptions } from './paddock.js';
import { startPostgres, type PostgresServer } from './postgres.js';

/**
 * Several Paddock processes sharing one Postgres and one data directory (as a shared volume
 * would be in production: file blobs and the vault key live there), behind a round-robin proxy
 * that sends each request to the next live node — the load balancer of a real deployment.
 */
export interface PaddockCluster {
  nodes: PaddockProcess[];
  apiKey: string;
  databaseUrl: string;
  dataDir: string;
  /** The round-robin proxy. */
  url: string;
  /** An official SDK client through the proxy. */
  client: Anthropic;
  /** An official SDK client for node `i` alone. */
  clientFor(i: number): Anthropic;
  stop(): Promise<void>;
}

let server: Promise<PostgresServer> | undefined;

/** One Postgres per test process, stopped when the process exits (test/support/postgres.ts). */
function sharedPostgres(): Promise<PostgresServer> {
  return (server ??= startPostgres());
}

export interface ClusterOptions {
  nodes: number;
  env?: Record<string, string | undefined>;
  dataDir?: string;
  /** An existing database to share; by default a fresh one on this process's test Postgres. */
  databaseUrl?: string;
}

export async function startCluster(opts: ClusterOptions): Promise<PaddockCluster> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'paddock-cluster-'));
  // A restart with the same data dir finds the same database, as a restarted cluster would.
  const dbFile = path.join(dataDir, 'test-database-url');
  const databaseUrl = opts.databaseUrl ?? (existsSync(dbFile) ? readFileSync(dbFile, 'utf8') : await (await sharedPostgres()).createDatabase());
  writeFileSync(dbFile, databaseUrl);
  const apiKey = opts.env?.PADDOCK_API_KEYS ?? 'sk-test-cluster-' + randomBytes(8).toString('hex');
  const nodes: PaddockProcess[] = [];
  // One after another: the first node runs the migrations, the others find them done.
  for (let i = 0; i < opts.nodes; i++) {
    const node = await startPaddock({
      clusterNode: true,
      dataDir,
      env: { PADDOCK_NODE_ID: `node-${i}`, ...opts.env, DATABASE_URL: databaseUrl, PADDOCK_API_KEYS: apiKey },
    });
    nodes.push(node);
  }
  const proxy = await roundRobin(nodes);
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const client = (baseURL: string) => new Anthropic({ apiKey, baseURL, maxRetries: 0 });
  return {
    nodes,
    apiKey,
    databaseUrl,
    dataDir,
    url,
    client: client(url),
    clientFor: (i) => client(nodes[i].url),
    async stop() {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/**
 * Forwards each request to the next node that is still running. Like nginx by default, it reads
 * the whole request body first (so a node that answers early, e.g. 413, is not cut off mid-upload)
 * and streams the response (SSE) back as it comes.
 */
async function roundRobin(nodes: PaddockProcess[]): Promise<http.Server> {
  let next = 0;
  const proxy = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const live = nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
    if (live.length === 0) return void res.writeHead(502).end('no live node');
    const target = new URL(live[next++ % live.length].url);
    const headers = { ...req.headers };
    delete headers['transfer-encoding'];
    if (req.method !== 'GET' && req.method !== 'HEAD') headers['content-length'] = String(body.length);
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      res.flushHeaders(); // an event stream's headers must not wait for its first frame
      up.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end('node unreachable')));
    res.on('close', () => upstream.destroy());
    upstream.end(body);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return proxy;
}

/**
 * `PADDOCK_TEST_NODES=3 npx vitest run test/conformance`: every test that starts "a Paddock"
 * gets a cluster behind one URL instead, so the whole conformance suite runs round-robin over
 * several nodes. The result looks like one process to the test.
 */
export async function startClusterAsOne(nodes: number, opts: StartOptions): Promise<PaddockProcess> {
  const c = await startCluster({ nodes, env: opts.env, dataDir: opts.dataDir });
  return {
    url: c.url,
    apiKey: c.apiKey,
    dataDir: c.dataDir,
    client: c.client,
    proc: c.nodes[0].proc,
    output: () => c.nodes.map((n, i) => `--- node-${i}\n${n.output()}`).join('\n'),
    stop: () => c.stop(),
    kill: async () => {
      await Promise.all(c.nodes.map((n) => n.kill()));
      await c.stop();
    },
  };
}
