import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startPaddock } from '../support/paddock.js';

/**
 * Configuration is read in one place (src/config.ts), and every variable it reads is the one the
 * README's configuration table documents. A value that makes no sense stops start-up with a
 * message naming the variable, instead of a server that misbehaves later.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');

const load = (env: Record<string, string>) =>
  loadConfig({ PADDOCK_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'paddock-config-')), PADDOCK_API_KEYS: 'k', ...env });

/** The variable names in the first column of the README's configuration table. */
function documented(): Set<string> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const first = line.split('|')[1];
    for (const m of first.matchAll(/`([^`]+)`/g)) names.add(m[1]);
  }
  return names;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('configuration', () => {
  it('reads exactly the variables the README documents, and nothing else in src reads the environment', async () => {
    const read = new Set<string>();
    const env = new Proxy({ PADDOCK_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'paddock-config-')) } as NodeJS.ProcessEnv, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return Reflect.get(target, name);
      },
    });
    await loadConfig(env);
    const docs = documented();
    expect(docs.size).toBeGreaterThan(30);
    expect(
      [...read].filter((n) => !docs.has(n)),
      'read but not in the README table',
    ).toEqual([]);
    expect(
      [...docs].filter((n) => !read.has(n)),
      'in the README table but never read',
    ).toEqual([]);

    // The entry point hands process.env to loadConfig; no other code looks at it.
    const readers: string[] = [];
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8').replaceAll('loadConfig(process.env)', '');
      if (/process\s*(\.\s*env\b|\[\s*['"`]env)|from\s+['"](node:)?process['"]/.test(text)) readers.push(path.relative(ROOT, file));
    }
    expect(readers).toEqual([]);
  });

  it('refuses a lease renewal interval of 0, naming the variable', async () => {
    await expect(load({ PADDOCK_LEASE_RENEW_MS: '0' })).rejects.toThrow(/^PADDOCK_LEASE_RENEW_MS must be an integer from 1 to 2147483647, got "0"$/);
  });

  it('refuses a lease renewed no sooner than it expires, naming both variables', async () => {
    for (const renew of ['30000', '40000']) {
      await expect(load({ PADDOCK_LEASE_RENEW_MS: renew, PADDOCK_LEASE_TTL_MS: '30000' })).rejects.toThrow(
        /PADDOCK_LEASE_RENEW_MS \(\d+\) must be less than PADDOCK_LEASE_TTL_MS \(30000\)/,
      );
    }
    await expect(load({ PADDOCK_LEASE_RENEW_MS: '29999', PADDOCK_LEASE_TTL_MS: '30000' })).resolves.toMatchObject({
      runtime: { leaseRenewMs: 29_999 },
      cluster: { leaseTtlMs: 30_000 },
    });
  });

  it.each([
    ['PADDOCK_SSE_PING_MS', '0'],
    ['PADDOCK_LEASE_SCAN_MS', '0'],
    ['PADDOCK_BUS_POLL_MS', '-5'],
    ['PADDOCK_MODEL_RETRY_BASE_MS', '0'],
    ['PADDOCK_COMPACTION_THRESHOLD_TOKENS', '0'],
    ['PADDOCK_MAX_BODY_BYTES', '0'],
    // A timer cannot wait longer; Node would fire it after 1 ms instead.
    ['PADDOCK_LEASE_TTL_MS', '2147483648'],
    ['PADDOCK_SANDBOX_IDLE_SECONDS', '2147484'],
    ['PORT', '65536'],
    ['PADDOCK_SANDBOX_UID', '0'],
    ['PADDOCK_MODEL_MAX_RETRIES', '2.5'],
    ['PADDOCK_SANDBOX_MEMORY_MB', '1e3'],
    ['PADDOCK_SANDBOX_PROCESSES', 'many'],
    ['PADDOCK_SANDBOX', 'docker'],
    ['PADDOCK_LOG_LEVEL', 'verbose'],
    ['PADDOCK_MCP_CALL_TIMEOUT_MS', '0'],
    // The in-sandbox agent ends any command after 600 s; an install cannot be given longer.
    ['PADDOCK_PACKAGES_TIMEOUT_SECONDS', '601'],
    ['PADDOCK_MCP_IDLE_SECONDS', '2147484'],
    ['PADDOCK_GITHUB_URL', 'git@github.com:owner'],
    ['PADDOCK_GITHUB_URL', 'https://token@github.example'],
  ])('refuses %s=%s, naming the variable', async (name, value) => {
    await expect(load({ [name]: value })).rejects.toThrow(new RegExp(`^${name} must be .*got "${value.replace('.', '\\.')}"$`));
  });

  it('takes the edges of each range, and reads units as documented', async () => {
    const c = await load({
      PORT: '0',
      PADDOCK_RUNTIME_IDLE_STATES: '0',
      PADDOCK_MODEL_MAX_RETRIES: '0',
      PADDOCK_SANDBOX_IDLE_SECONDS: '2',
      PADDOCK_SANDBOX_CAPTURE_MB: '3',
    });
    expect(c.server.port).toBe(0);
    expect(c.runtime).toMatchObject({ idleStatesKept: 0, maxRetries: 0 });
    expect(c.sandbox.idleMs).toBe(2000);
    expect(c.sandbox.capture.bytes).toBe(3 * 1024 * 1024);
    expect((await load({ PADDOCK_MCP_IDLE_SECONDS: '2' })).mcp.idleMs).toBe(2000);
    // A path prefix is kept (GitHub Enterprise behind one), without the trailing slash.
    expect((await load({ PADDOCK_GITHUB_URL: 'https://git.example:8443/ghe/' })).github.url).toBe('https://git.example:8443/ghe');
  });

  it('keeps secrets out of anything that prints the configuration', async () => {
    const values = {
      PADDOCK_API_KEYS: 'sk-api-key-one,sk-api-key-two',
      ANTHROPIC_API_KEY: 'sk-ant-model-key',
      PADDOCK_MASTER_KEY: 'aa'.repeat(32),
      PADDOCK_NEW_MASTER_KEY: 'bb'.repeat(32),
    };
    const config = await load(values);
    expect(config.auth.apiKeys.map((k) => k.reveal())).toEqual(['sk-api-key-one', 'sk-api-key-two']);
    expect(config.secrets.masterKey?.reveal()).toBe(values.PADDOCK_MASTER_KEY);
    let logged = '';
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => ((logged += chunk), done()) }));
    log.info({ config }, 'configuration');
    const printed = [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.model.apiKey), logged];
    expect(logged).toContain('"secrets"');
    for (const text of printed) {
      for (const secret of ['sk-api-key-one', 'sk-api-key-two', 'sk-ant-model-key', 'aa'.repeat(32), 'bb'.repeat(32)]) expect(text).not.toContain(secret);
    }
  });

  it('a server started with PADDOCK_LEASE_RENEW_MS=0 exits at once, saying why', async () => {
    const err = await startPaddock({ env: { PADDOCK_LEASE_RENEW_MS: '0' } }).then(
      (p) => p.stop().then(() => undefined),
      (e: Error) => e,
    );
    expect(err?.message).toContain('paddock: PADDOCK_LEASE_RENEW_MS must be an integer from 1 to');
  });
});
