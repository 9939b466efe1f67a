import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';

export interface PaddockProcess {
  url: string;
  apiKey: string;
  dataDir: string;
  client: Anthropic;
  /** Everything the server printed so far (stdout + stderr). */
  output(): string;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL), as a crash. */
  kill(): Promise<void>;
  proc: ChildProcess;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  dataDir?: string;
  port?: number;
  /** Set by test/support/cluster.ts for its own nodes (they are never a cluster themselves). */
  clusterNode?: boolean;
  /** Flags for node itself (`--expose-gc`, so that the memory report measures the live heap). */
  nodeArgs?: string[];
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Starts a real Paddock process (the built `dist/cli/main.js serve`) on a free port and returns
 * an official SDK client pointed at it.
 */
export async function startPaddock(opts: StartOptions = {}): Promise<PaddockProcess> {
  // PADDOCK_TEST_NODES=3: the same tests, against three nodes sharing one Postgres (cluster.ts).
  const nodes = Number(process.env.PADDOCK_TEST_NODES ?? 0);
  if (nodes > 1 && !opts.clusterNode) return (await import('./cluster.js')).startClusterAsOne(nodes, opts);
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'paddock-test-'));
  const apiKey = 'sk-test-' + Math.random().toString(36).slice(2);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    PORT: String(opts.port ?? 0),
    HOST: '127.0.0.1',
    PADDOCK_DATA_DIR: dataDir,
    PADDOCK_API_KEYS: apiKey,
    PADDOCK_LOG_LEVEL: 'info',
    ANTHROPIC_API_KEY: 'sk-ant-test-model-key',
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:9', // nothing listens: tests that need a model pass their own
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), path.join(ROOT, 'dist/cli/main.js'), 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`paddock did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`paddock exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    url,
    apiKey,
    dataDir,
    proc,
    client: new Anthropic({ apiKey, baseURL: url, maxRetries: 0 }),
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Raw HTTP against the server, for what the SDK cannot send (bad bodies, wrong headers). */
export async function raw(
  p: Pick<PaddockProcess, 'url' | 'apiKey'>,
  method: string,
  pathname: string,
  opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.auth !== false) headers['x-api-key'] = p.apiKey;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(p.url + pathname, { method, headers, body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
