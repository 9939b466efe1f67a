import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKey } from '../../src/vault/crypto.js';
import { startFakeOAuthMcp, type FakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';

const run = promisify(execFile);
// The stand-in MCP server listens on 127.0.0.1, which the outbound port refuses unless named.
const LOCAL_MCP = { PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' };
const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

let mcp: FakeOAuthMcp;
beforeAll(async () => {
  mcp = await startFakeOAuthMcp();
});
afterAll(async () => {
  await mcp?.close();
});

function rotate(dataDir: string, env: Record<string, string> = {}) {
  return run(process.execPath, [CLI, 'rotate-master-key'], {
    env: { PATH: process.env.PATH ?? '', PADDOCK_DATA_DIR: dataDir, PADDOCK_API_KEYS: 'unused', ...env },
  });
}

function sealedKeyIds(dataDir: string): string[] {
  const db = new Database(path.join(dataDir, 'paddock.db'), { readonly: true });
  try {
    const rows = db
      .prepare('SELECT secret FROM credentials WHERE secret IS NOT NULL UNION ALL SELECT secret FROM session_resources WHERE secret IS NOT NULL')
      .all() as { secret: string }[];
    return [...new Set(rows.map((r) => r.secret.split(':')[1]))];
  } finally {
    db.close();
  }
}

/** Stores a bearer credential (checked later through a real probe) and a repository token. */
async function seed(p: PaddockProcess, token: string) {
  mcp.validTokens.add(token);
  const vault = await p.client.beta.vaults.create({ display_name: 'rotation' });
  const cred = await p.client.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: mcp.mcpUrl, token } });
  const agent = await p.client.beta.agents.create({ name: 'rot', model: 'claude-opus-4-7' });
  const env = await p.client.beta.environments.create({ name: 'rot' });
  await p.client.beta.sessions.create({
    agent: agent.id,
    environment_id: env.id,
    resources: [{ type: 'github_repository', url: 'https://github.com/acme/rot', authorization_token: 'ghp_rot' }],
  });
  return { vault, cred };
}

describe('paddock rotate-master-key', () => {
  it('with the key file: re-encrypts every secret under a new key and replaces the file', async () => {
    let p = await startPaddock();
    const { vault, cred } = await seed(p, 'rotation-token-file');
    await p.stop();
    const keyFile = path.join(p.dataDir, 'master.key');
    const before = readFileSync(keyFile, 'utf8');
    const idsBefore = sealedKeyIds(p.dataDir);
    expect(idsBefore).toHaveLength(1);

    const out = await rotate(p.dataDir);
    expect(out.stdout).toMatch(/Re-encrypted 2 secrets/);
    expect(readFileSync(keyFile, 'utf8')).not.toBe(before);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const idsAfter = sealedKeyIds(p.dataDir);
    expect(idsAfter).toHaveLength(1);
    expect(idsAfter[0]).not.toBe(idsBefore[0]);

    // Restarted on the new key, the credential still decrypts: the probe sends the right token.
    p = await startPaddock({ dataDir: p.dataDir, env: LOCAL_MCP });
    try {
      const v = await p.client.beta.vaults.credentials.mcpOAuthValidate(cred.id, { vault_id: vault.id });
      expect(v.status).toBe('valid');
    } finally {
      await p.stop();
    }
  });

  it('with PADDOCK_MASTER_KEY: needs PADDOCK_NEW_MASTER_KEY, then the server runs on the new key', async () => {
    const oldKey = generateMasterKey().toString('base64');
    const newKey = generateMasterKey().toString('base64');
    let p = await startPaddock({ env: { PADDOCK_MASTER_KEY: oldKey } });
    const { vault, cred } = await seed(p, 'rotation-token-env');
    await p.stop();

    const refused = await rotate(p.dataDir, { PADDOCK_MASTER_KEY: oldKey }).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/PADDOCK_NEW_MASTER_KEY/);

    const out = await rotate(p.dataDir, { PADDOCK_MASTER_KEY: oldKey, PADDOCK_NEW_MASTER_KEY: newKey });
    expect(out.stdout).toMatch(/Set PADDOCK_MASTER_KEY/);
    expect(out.stdout + out.stderr).not.toContain(newKey);

    p = await startPaddock({ dataDir: p.dataDir, env: { PADDOCK_MASTER_KEY: newKey, ...LOCAL_MCP } });
    try {
      expect((await p.client.beta.vaults.credentials.mcpOAuthValidate(cred.id, { vault_id: vault.id })).status).toBe('valid');
    } finally {
      await p.stop();
    }
  });

  it('refuses to start on a master key that cannot open the stored secrets, and says why', async () => {
    const key = generateMasterKey().toString('base64');
    const p = await startPaddock({ env: { PADDOCK_MASTER_KEY: key } });
    await seed(p, 'wrong-key-token');
    await p.stop();
    const wrong = generateMasterKey().toString('base64');
    const err = await startPaddock({ dataDir: p.dataDir, env: { PADDOCK_MASTER_KEY: wrong } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/sealed with master key \w+, which this server does not have/);
    expect((err as Error).message).not.toContain(wrong);
    expect((err as Error).message).not.toContain(key);
  });
});
