import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import type { ClusterOptions } from './cluster.js';
import type { RuntimeOptions } from './runtime/options.js';
import { PACKAGES_TIMEOUT_MAX_SECONDS, SANDBOX_DEFAULTS, type SandboxSettings } from './sandbox/settings.js';

/**
 * A configured secret (an API key, a master key). JSON and inspection show only that it is set,
 * so a config that reaches a log line or an error message carries none of them.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
  [inspect.custom](): string {
    return '[secret]';
  }
}

/** Everything Paddock reads from its environment, by the part of Paddock that uses it. */
export interface Config {
  server: {
    /** 0 picks a free port; the graph learns the real one when it listens. */
    port: number;
    host: string;
    maxBodyBytes: number;
    /** SSE keep-alive interval. */
    ssePingMs: number;
    /** Bytes of preview frames that may wait for an event stream's client before the stream is closed. */
    sseMaxBufferBytes: number;
    /** An event stream whose client takes no byte for this long, with frames waiting, is closed. */
    sseStallMs: number;
    logLevel: string;
  };
  storage: { dataDir: string; databaseUrl?: string };
  auth: {
    apiKeys: Secret[];
    /** Where the keys came from: `generated` on the first start without any, so it is shown once. */
    source: 'env' | 'file' | 'generated';
  };
  /** Web origins whose pages may call the API from a browser (`*`: any); empty means none. */
  cors: { origins: string[] };
  model: { apiKey?: Secret; baseUrl?: string };
  /** Hosts, addresses and CIDR ranges the server's own outbound calls may reach though not global (src/net/outbound.ts). */
  outbound: { allowHosts: string[] };
  /** The MCP client's deadlines (src/mcp/). */
  mcp: { connectTimeoutMs: number; callTimeoutMs: number; idleMs: number };
  /** Where GitHub is: `github_repository` resources must be repositories under `url` (no trailing slash). */
  github: { url: string };
  files: { maxBytes: number };
  /** Master keys given in the environment; otherwise the key file in the data dir (src/vault/crypto.ts). */
  secrets: { masterKey?: Secret; newMasterKey?: Secret };
  sandbox: SandboxSettings;
  runtime: RuntimeOptions;
  cluster: ClusterOptions;
}

/** setTimeout and setInterval take at most this many ms; a larger delay fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Reads configuration from the environment (README "Configuration"; DESIGN.md "How Paddock is
 * started"): the one place that does. A bad value stops start-up with a message naming the
 * variable. When no API key is configured, one is created on first start and kept in the data
 * dir, so restarts keep it.
 */
export async function loadConfig(env: NodeJS.ProcessEnv): Promise<Config> {
  const r = new EnvReader(env);
  const storage = { dataDir: path.resolve(r.str('PADDOCK_DATA_DIR') ?? './.paddock'), databaseUrl: r.str('DATABASE_URL') };
  await fs.mkdir(storage.dataDir, { recursive: true, mode: 0o700 });
  const config: Config = {
    server: {
      port: r.int('PORT', 4000, { min: 0, max: 65_535 }),
      host: r.str('HOST') ?? '127.0.0.1',
      maxBodyBytes: r.int('PADDOCK_MAX_BODY_BYTES', 32 * 1024 * 1024, { min: 1 }),
      ssePingMs: r.int('PADDOCK_SSE_PING_MS', 15_000, { min: 1, max: MAX_TIMER_MS }),
      sseMaxBufferBytes: r.int('PADDOCK_SSE_MAX_BUFFER_BYTES', 1024 * 1024, { min: 1 }),
      sseStallMs: r.int('PADDOCK_SSE_STALL_MS', 30_000, { min: 1, max: MAX_TIMER_MS }),
      logLevel: r.oneOf('PADDOCK_LOG_LEVEL', LOG_LEVELS, r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info')),
    },
    storage,
    auth: await apiKeys(storage.dataDir, r.list('PADDOCK_API_KEYS')),
    cors: { origins: r.origins('PADDOCK_CORS_ORIGINS') },
    model: { apiKey: r.secret('ANTHROPIC_API_KEY'), baseUrl: r.str('ANTHROPIC_BASE_URL') },
    outbound: { allowHosts: r.list('PADDOCK_OUTBOUND_ALLOW_HOSTS') },
    mcp: {
      connectTimeoutMs: r.int('PADDOCK_MCP_CONNECT_TIMEOUT_MS', 30_000, { min: 1, max: MAX_TIMER_MS }),
      callTimeoutMs: r.int('PADDOCK_MCP_CALL_TIMEOUT_MS', 300_000, { min: 1, max: MAX_TIMER_MS }),
      idleMs: r.int('PADDOCK_MCP_IDLE_SECONDS', 600, { min: 1, max: MAX_TIMER_SECONDS }) * 1000,
    },
    github: { url: r.baseUrl('PADDOCK_GITHUB_URL', 'https://github.com') },
    files: { maxBytes: r.int('PADDOCK_MAX_FILE_BYTES', 500 * 1024 * 1024, { min: 1 }) },
    secrets: { masterKey: r.secret('PADDOCK_MASTER_KEY'), newMasterKey: r.secret('PADDOCK_NEW_MASTER_KEY') },
    sandbox: sandbox(r),
    runtime: {
      maxRetries: r.int('PADDOCK_MODEL_MAX_RETRIES', 5, { min: 0 }),
      retryBaseMs: r.int('PADDOCK_MODEL_RETRY_BASE_MS', 2000, { min: 1, max: MAX_TIMER_MS }),
      retryMaxMs: r.int('PADDOCK_MODEL_RETRY_MAX_MS', 60_000, { min: 1, max: MAX_TIMER_MS }),
      compactionThresholdTokens: r.optionalInt('PADDOCK_COMPACTION_THRESHOLD_TOKENS', { min: 1 }),
      leaseRenewMs: r.int('PADDOCK_LEASE_RENEW_MS', 10_000, { min: 1, max: MAX_TIMER_MS }),
      maxTokens: r.int('PADDOCK_MODEL_MAX_TOKENS', 32_000, { min: 1 }),
      idleStatesKept: r.int('PADDOCK_RUNTIME_IDLE_STATES', 128, { min: 0 }),
      stepRetryBaseMs: r.int('PADDOCK_STEP_RETRY_BASE_MS', 500, { min: 1, max: MAX_TIMER_MS }),
      stepRetryMaxMs: r.int('PADDOCK_STEP_RETRY_MAX_MS', 30_000, { min: 1, max: MAX_TIMER_MS }),
    },
    cluster: {
      nodeId: r.str('PADDOCK_NODE_ID') ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      leaseTtlMs: r.int('PADDOCK_LEASE_TTL_MS', 30_000, { min: 1, max: MAX_TIMER_MS }),
      leaseScanMs: r.int('PADDOCK_LEASE_SCAN_MS', 5_000, { min: 1, max: MAX_TIMER_MS }),
      busPollMs: r.int('PADDOCK_BUS_POLL_MS', 2_000, { min: 1, max: MAX_TIMER_MS }),
    },
  };
  // A lease renewed no sooner than it expires is lost between renewals, and its session taken over mid-step.
  if (config.runtime.leaseRenewMs >= config.cluster.leaseTtlMs) {
    throw new Error(
      `PADDOCK_LEASE_RENEW_MS (${config.runtime.leaseRenewMs}) must be less than PADDOCK_LEASE_TTL_MS (${config.cluster.leaseTtlMs}), or leases run out between renewals`,
    );
  }
  if (config.runtime.retryMaxMs < config.runtime.retryBaseMs) {
    throw new Error(`PADDOCK_MODEL_RETRY_MAX_MS (${config.runtime.retryMaxMs}) must be at least PADDOCK_MODEL_RETRY_BASE_MS (${config.runtime.retryBaseMs})`);
  }
  return config;
}

function sandbox(r: EnvReader): SandboxSettings {
  const d = SANDBOX_DEFAULTS;
  return {
    provider: r.oneOf('PADDOCK_SANDBOX', ['bubblewrap', 'process', 'none'], d.provider),
    limits: {
      memoryMib: r.int('PADDOCK_SANDBOX_MEMORY_MB', d.limits.memoryMib, { min: 1 }),
      cpuSeconds: r.int('PADDOCK_SANDBOX_CPU_SECONDS', d.limits.cpuSeconds, { min: 1 }),
      processes: r.int('PADDOCK_SANDBOX_PROCESSES', d.limits.processes, { min: 1 }),
      diskMib: r.int('PADDOCK_SANDBOX_DISK_MB', d.limits.diskMib, { min: 1 }),
      tmpMib: r.int('PADDOCK_SANDBOX_TMP_MB', d.limits.tmpMib, { min: 1 }),
    },
    idleMs: r.int('PADDOCK_SANDBOX_IDLE_SECONDS', d.idleMs / 1000, { min: 1, max: MAX_TIMER_SECONDS }) * 1000,
    // Not 0: root cannot be process-limited.
    uid: r.int('PADDOCK_SANDBOX_UID', d.uid, { min: 1, max: 2 ** 32 - 2 }),
    gid: r.int('PADDOCK_SANDBOX_GID', d.gid, { min: 1, max: 2 ** 32 - 2 }),
    volume: r.oneOf('PADDOCK_SANDBOX_VOLUME', ['auto', 'image', 'directory'], d.volume),
    capture: {
      bytes: r.int('PADDOCK_SANDBOX_CAPTURE_MB', d.capture.bytes / 1024 / 1024, { min: 1 }) * 1024 * 1024,
      files: r.int('PADDOCK_SANDBOX_CAPTURE_FILES', d.capture.files, { min: 1 }),
      ms: r.int('PADDOCK_SANDBOX_CAPTURE_SECONDS', d.capture.ms / 1000, { min: 1, max: MAX_TIMER_SECONDS }) * 1000,
    },
    packagesTimeoutMs: r.int('PADDOCK_PACKAGES_TIMEOUT_SECONDS', d.packagesTimeoutMs / 1000, { min: 1, max: PACKAGES_TIMEOUT_MAX_SECONDS }) * 1000,
    upstreamCaFile: r.str('PADDOCK_UPSTREAM_CA_FILE'),
  };
}

async function apiKeys(dataDir: string, given: string[]): Promise<Config['auth']> {
  if (given.length) return { apiKeys: given.map((k) => new Secret(k)), source: 'env' };
  const keyFile = path.join(dataDir, 'api-key');
  try {
    return { apiKeys: [new Secret((await fs.readFile(keyFile, 'utf8')).trim())], source: 'file' };
  } catch {
    const key = `sk-paddock-${randomBytes(24).toString('base64url')}`;
    await fs.writeFile(keyFile, key + '\n', { mode: 0o600 });
    return { apiKeys: [new Secret(key)], source: 'generated' };
  }
}

/** Reads variables by name; empty counts as unset. Every number goes through `int`. */
class EnvReader {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  str(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  secret(name: string): Secret | undefined {
    const v = this.str(name);
    return v === undefined ? undefined : new Secret(v);
  }

  /** An integer within [min, max] (max: the largest exact integer unless given), or start-up fails naming the variable. */
  int(name: string, fallback: number, bounds: { min: number; max?: number }): number {
    return this.optionalInt(name, bounds) ?? fallback;
  }

  optionalInt(name: string, { min, max = Number.MAX_SAFE_INTEGER }: { min: number; max?: number }): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const n = /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new Error(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    }
    return n;
  }

  oneOf<T extends string>(name: string, options: readonly T[], fallback: T): T {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const value = v.toLowerCase();
    if (!(options as readonly string[]).includes(value)) throw new Error(`${name} must be one of ${options.join(', ')}, got "${v}"`);
    return value as T;
  }

  /** A comma-separated list, entries trimmed, empty ones dropped. */
  list(name: string): string[] {
    return (this.str(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** An http(s) origin, optionally with a path prefix (GitHub Enterprise Server behind a path); no trailing slash. */
  baseUrl(name: string, fallback: string): string {
    const text = this.str(name) ?? fallback;
    let u: URL | undefined;
    try {
      u = new URL(text);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash) {
      throw new Error(`${name} must be an http(s) URL such as ${fallback}, got "${text}"`);
    }
    return u.origin + u.pathname.replace(/\/+$/, '');
  }

  /**
   * Web origins, each exactly as browsers send it in `Origin` (`https://app.example.com:8443`), or
   * `*` for any. A near miss (a trailing slash, a path, capitals) would otherwise match no browser
   * and fail silently, so it fails start-up instead.
   */
  origins(name: string): string[] {
    const list = this.list(name);
    for (const o of list) {
      if (o === '*') continue;
      let origin: string | undefined;
      try {
        origin = new URL(o).origin;
      } catch {
        origin = undefined;
      }
      if (origin !== o) {
        const hint = origin && origin !== 'null' ? origin : 'https://app.example.com';
        throw new Error(`${name}: "${o}" is not an origin (scheme://host[:port], as in ${hint})`);
      }
    }
    return list;
  }
}
