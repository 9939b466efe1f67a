import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { envNumber, envOrigins } from './env.js';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  apiKeys: string[];
  /** True when the key was generated on this start and should be shown to the operator. */
  generatedKey?: string;
  maxBodyBytes: number;
  logLevel: string;
  anthropicBaseUrl?: string;
  anthropicApiKey?: string;
  /** SSE keep-alive interval. */
  pingIntervalMs: number;
  /** Bytes of frames that may wait for an event stream's client before the stream is closed. */
  sseMaxBufferBytes: number;
  /** An event stream whose client takes no byte for this long, with frames waiting, is closed. */
  sseStallMs: number;
  /** Names this process among the nodes sharing one database (leases, notifications). */
  nodeId: string;
  /** Web origins whose pages may call the API from a browser (`*`: any); empty means none. */
  corsOrigins: string[];
  /** Hosts, addresses and CIDR ranges the server's own outbound calls may reach though not global (src/net/outbound.ts). */
  outboundAllowHosts: string[];
  /** Where GitHub is (`PADDOCK_GITHUB_URL`): repository resources must be repositories under it. */
  githubUrl: string;
}

/**
 * Reads configuration from the environment (DESIGN.md "How Paddock is started"). When no API key
 * is configured, one is created on first start and kept in the data dir, so restarts keep it.
 */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const dataDir = path.resolve(env.PADDOCK_DATA_DIR || './.paddock');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  let apiKeys = (env.PADDOCK_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  let generatedKey: string | undefined;
  if (apiKeys.length === 0) {
    const keyFile = path.join(dataDir, 'api-key');
    try {
      apiKeys = [(await fs.readFile(keyFile, 'utf8')).trim()];
    } catch {
      generatedKey = `sk-paddock-${randomBytes(24).toString('base64url')}`;
      await fs.writeFile(keyFile, generatedKey + '\n', { mode: 0o600 });
      apiKeys = [generatedKey];
    }
  }
  return {
    port: envNumber(env, 'PORT', 4000),
    host: env.HOST || '127.0.0.1',
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    apiKeys,
    generatedKey,
    maxBodyBytes: envNumber(env, 'PADDOCK_MAX_BODY_BYTES', 32 * 1024 * 1024),
    logLevel: env.PADDOCK_LOG_LEVEL || env.LOG_LEVEL || 'info',
    anthropicBaseUrl: env.ANTHROPIC_BASE_URL || undefined,
    anthropicApiKey: env.ANTHROPIC_API_KEY || undefined,
    pingIntervalMs: envNumber(env, 'PADDOCK_SSE_PING_MS', 15_000),
    sseMaxBufferBytes: envNumber(env, 'PADDOCK_SSE_MAX_BUFFER_BYTES', 1024 * 1024, { min: 1 }),
    sseStallMs: envNumber(env, 'PADDOCK_SSE_STALL_MS', 30_000, { min: 1 }),
    corsOrigins: envOrigins(env, 'PADDOCK_CORS_ORIGINS'),
    nodeId: env.PADDOCK_NODE_ID || `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    outboundAllowHosts: (env.PADDOCK_OUTBOUND_ALLOW_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    githubUrl: githubUrl(env.PADDOCK_GITHUB_URL),
  };
}

/** An http(s) origin, optionally with a path prefix (GitHub Enterprise Server behind a path); no trailing slash. */
function githubUrl(v: string | undefined): string {
  const text = v || 'https://github.com';
  let u: URL | undefined;
  try {
    u = new URL(text);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash) {
    throw new Error(`PADDOCK_GITHUB_URL must be an http(s) URL such as https://github.com, got "${text}"`);
  }
  return u.origin + u.pathname.replace(/\/+$/, '');
}
