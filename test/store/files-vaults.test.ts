import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { buildPaddock, type PaddockGraph } from '../../src/server.js';
import { DIALECTS, useStore } from '../support/store-backends.js';

/**
 * The accessors other modules build on (the sandbox mounts files and clones repositories with
 * their token; the MCP client and egress proxy take credentials by URL / name), over both stores,
 * on the services as the server's object graph connects them.
 */
describe.each(DIALECTS)('files, resources and vaults on %s', (dialect) => {
  const h = useStore(dialect);
  let paddock: PaddockGraph;
  let d: AppContext;
  beforeAll(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'paddock-fv-'));
    const config = await loadConfig({ PADDOCK_DATA_DIR: dataDir, PADDOCK_API_KEYS: 'k', PADDOCK_SANDBOX: 'none', DATABASE_URL: h.databaseUrl });
    paddock = await buildPaddock(config, pino({ level: 'silent' }));
    d = paddock.ctx;
  });
  afterAll(async () => {
    await paddock?.close();
  });
  const newSession = async (d: AppContext, extra: Record<string, unknown> = {}) => {
    const agent = await d.agents.create({ name: `a-${Math.random()}`, model: 'claude-sonnet-4-5' });
    const env = await d.environments.create({ name: `e-${Math.random()}` });
    return (await d.sessions.create({ agent: agent.id, environment_id: env.id, ...extra })).session;
  };

  it('mountsForSession gives the file bytes on disk and the current (rotated) repository token', async () => {
    const file = await d.files.create(Readable.from([Buffer.from('hello '), Buffer.from('world')]), { filename: 'a/b/hello.txt' });
    expect(file).toMatchObject({ filename: 'hello.txt', mime_type: 'text/plain', size_bytes: 11 });
    const s = await newSession(d, {
      resources: [
        { type: 'file', file_id: file.id, mount_path: '/workspace/hello.txt' },
        { type: 'github_repository', url: 'https://github.com/acme/tool', authorization_token: 'ghp_one' },
      ],
    });
    const repoId = (s.resources[1] as { id: string }).id;
    await d.resources.update(s.id, repoId, { authorization_token: 'ghp_two' });
    const mounts = await d.resources.mountsForSession(s.id);
    expect(mounts).toHaveLength(2);
    const [f, repo] = mounts as any[];
    expect(readFileSync(f.localPath, 'utf8')).toBe('hello world');
    expect(f.resource.mount_path).toBe('/workspace/hello.txt');
    expect(repo.authorizationToken).toBe('ghp_two');
    const stored = await d.store.db.selectFrom('session_resources').select('secret').where('id', '=', repoId).executeTakeFirstOrThrow();
    expect(stored.secret).toMatch(/^pdk1:/);
    expect(stored.secret).not.toContain('ghp_two');
  });

  it('deleting a session removes its resource rows (and their sealed tokens)', async () => {
    const s = await newSession(d, { resources: [{ type: 'github_repository', url: 'https://github.com/acme/x', authorization_token: 'ghp_gone' }] });
    await d.sessions.delete(s.id);
    const rows = await d.store.db.selectFrom('session_resources').select('id').where('session_id', '=', s.id).execute();
    expect(rows).toEqual([]);
  });

  it('resolveForSession: decrypted credentials, first vault in vault_ids wins, archived ones left out', async () => {
    const v1 = await d.vaults.create({ display_name: 'one' });
    const v2 = await d.vaults.create({ display_name: 'two' });
    const url = 'https://mcp.example.com/mcp';
    await d.credentials.create(v1.id, { auth: { type: 'static_bearer', mcp_server_url: url, token: 'from-v1' } });
    await d.credentials.create(v2.id, { auth: { type: 'mcp_oauth', mcp_server_url: url, access_token: 'from-v2' } });
    const other = await d.credentials.create(v2.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://other.example/mcp', token: 'other' } });
    await d.credentials.create(v2.id, {
      auth: {
        type: 'environment_variable',
        secret_name: 'API_KEY',
        secret_value: 'env-secret',
        networking: { type: 'limited', allowed_hosts: ['api.example.com'] },
      },
    });
    await d.credentials.archive(v2.id, other.id);

    const forward = await d.credentials.resolveForSession([v1.id, v2.id]);
    expect(await forward.mcp(url)!.accessToken()).toBe('from-v1');
    expect(forward.mcp('https://other.example/mcp')).toBeUndefined();
    expect(forward.environmentVariables).toEqual([
      expect.objectContaining({ secretName: 'API_KEY', secretValue: 'env-secret', injectionLocation: { body: true, header: true } }),
    ]);
    const backward = await d.credentials.resolveForSession([v2.id, v1.id]);
    expect(backward.mcp(url)).toMatchObject({ type: 'mcp_oauth', vaultId: v2.id });
    expect(await backward.mcp(url)!.accessToken()).toBe('from-v2');
  });

  it('the active-key index lets an archived key be reused and refuses a second active one', async () => {
    const v = await d.vaults.create({ display_name: 'keys' });
    const auth = { type: 'environment_variable', secret_name: 'K', secret_value: 'v', networking: { type: 'unrestricted' } } as const;
    const first = await d.credentials.create(v.id, { auth });
    await expect(d.credentials.create(v.id, { auth })).rejects.toMatchObject({ status: 409 });
    await d.credentials.archive(v.id, first.id);
    const purged = await d.store.db.selectFrom('credentials').select('secret').where('id', '=', first.id).executeTakeFirstOrThrow();
    expect(purged.secret).toBeNull();
    await expect(d.credentials.create(v.id, { auth })).resolves.toMatchObject({ auth: { secret_name: 'K' } });
  });
});
