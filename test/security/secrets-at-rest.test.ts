import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOAuthMcp, type FakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';

/**
 * Runs a workload that hands Paddock distinctive secrets through every write-only field, then
 * looks for each secret, in clear and in base64 / base64url / hex, in every API response body,
 * in the server's log output and in the raw bytes of the database files (WAL included).
 */
const mark = (label: string) => `S3CR3T-${label}-${randomBytes(12).toString('hex')}`;
const SECRETS = {
  bearer: mark('bearer'),
  bearerRotated: mark('bearer-rotated'),
  access: mark('access'),
  accessRotated: mark('access-rotated'),
  refresh: mark('refresh'),
  clientSecret: mark('client-secret'),
  envValue: mark('env-value'),
  envRotated: mark('env-rotated'),
  ghCreate: mark('gh-create'),
  ghAdded: mark('gh-added'),
  ghRotated: mark('gh-rotated'),
  badShape: mark('bad-shape'),
};

/** The secret as it would appear encoded: base64 of it at each of the three byte alignments. */
function forms(secret: string): string[] {
  const out = [secret, Buffer.from(secret).toString('hex')];
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), Buffer.from(secret)]).toString('base64');
    // Drop the characters that also depend on the padding bytes or on what follows.
    const core = b64.slice(4, -4);
    out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

let p: PaddockProcess;
let mcp: FakeOAuthMcp;
const bodies: string[] = [];

beforeAll(async () => {
  mcp = await startFakeOAuthMcp();
  // Debug logging: the most a deployment would log.
  p = await startPaddock({ env: { PADDOCK_LOG_LEVEL: 'debug', PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' } });
});
afterAll(async () => {
  await p?.stop();
  await mcp?.close();
});

describe('secrets at rest and in transit', () => {
  it('no secret appears in any response, the log, or the database files', async () => {
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      bodies.push(await res.clone().text());
      return res;
    };
    const client = new Anthropic({ apiKey: p.apiKey, baseURL: p.url, maxRetries: 0, fetch: recording });
    const call = async (method: string, url: string, body: unknown) => {
      const r = await raw(p, method, url, { body });
      bodies.push(r.text);
      return r;
    };
    const creds = client.beta.vaults.credentials;

    const vault = await client.beta.vaults.create({ display_name: 'secrets' });
    mcp.validTokens.add(SECRETS.bearer);
    const bearer = await creds.create(vault.id, { auth: { type: 'static_bearer', mcp_server_url: mcp.mcpUrl, token: SECRETS.bearer } });
    expect((await creds.mcpOAuthValidate(bearer.id, { vault_id: vault.id })).status).toBe('valid');
    await creds.update(bearer.id, { vault_id: vault.id, auth: { type: 'static_bearer', token: SECRETS.bearerRotated } });
    // The fake server echoes the refused token in its 401 body; validation must redact it.
    expect((await creds.mcpOAuthValidate(bearer.id, { vault_id: vault.id })).status).toBe('invalid');

    mcp.refreshTokens.set(SECRETS.refresh, { clientId: 'cid', clientSecret: SECRETS.clientSecret, via: 'post' });
    const oauth = await creds.create(vault.id, {
      auth: {
        type: 'mcp_oauth',
        mcp_server_url: `${mcp.mcpUrl}?oauth`,
        access_token: SECRETS.access,
        refresh: {
          client_id: 'cid',
          refresh_token: SECRETS.refresh,
          token_endpoint: mcp.tokenUrl,
          token_endpoint_auth: { type: 'client_secret_post', client_secret: SECRETS.clientSecret },
        },
      },
    });
    expect((await creds.mcpOAuthValidate(oauth.id, { vault_id: vault.id })).refresh?.status).toBe('succeeded');
    await creds.update(oauth.id, { vault_id: vault.id, auth: { type: 'mcp_oauth', access_token: SECRETS.accessRotated } });

    const env = await creds.create(vault.id, {
      auth: { type: 'environment_variable', secret_name: 'API_KEY', secret_value: SECRETS.envValue, networking: { type: 'unrestricted' } },
    });
    await creds.update(env.id, { vault_id: vault.id, auth: { type: 'environment_variable', secret_value: SECRETS.envRotated } });

    // Bad requests carrying secrets: the error messages must not echo them.
    await call('POST', `/v1/vaults/${vault.id}/credentials`, { auth: { type: 'static_bearer', token: SECRETS.badShape, mcp_server_url: SECRETS.badShape } });
    await call('POST', `/v1/vaults/${vault.id}/credentials`, { auth: { type: 'mcp_oauth', token: SECRETS.badShape, mcp_server_url: 'https://x.example' } });
    await call('POST', `/v1/vaults/${vault.id}/credentials`, {
      auth: { type: 'environment_variable', secret_name: SECRETS.badShape, secret_value: SECRETS.badShape, networking: { type: 'unrestricted' } },
    });
    await call('POST', `/v1/vaults/${vault.id}/credentials/${bearer.id}`, { auth: { type: 'mcp_oauth', access_token: SECRETS.badShape } });
    await call('POST', `/v1/vaults/${vault.id}/credentials`, { auth: { type: 'static_bearer', token: SECRETS.badShape, mcp_server_url: mcp.mcpUrl } });

    const agent = await client.beta.agents.create({ name: 'secrets-agent', model: 'claude-opus-4-7' });
    const envn = await client.beta.environments.create({ name: 'secrets-env' });
    const file = await client.beta.files.upload({ file: await toFile(Buffer.from('public data'), 'public.txt', { type: 'text/plain' }) });
    const session = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: envn.id,
      vault_ids: [vault.id],
      resources: [
        { type: 'file', file_id: file.id },
        { type: 'github_repository', url: 'https://github.com/acme/private', authorization_token: SECRETS.ghCreate },
      ],
    });
    const repoId = (session.resources[1] as { id: string }).id;
    await client.beta.sessions.resources.update(repoId, { session_id: session.id, authorization_token: SECRETS.ghRotated });
    await call('POST', `/v1/sessions/${session.id}/resources`, {
      type: 'github_repository',
      url: 'https://github.com/acme/more',
      authorization_token: SECRETS.ghAdded,
    });
    await call('POST', '/v1/sessions', {
      agent: agent.id,
      environment_id: envn.id,
      resources: [{ type: 'github_repository', url: SECRETS.badShape, authorization_token: SECRETS.badShape }],
    });
    await call('POST', `/v1/sessions/${session.id}/resources/${repoId}`, { authorization_token: 42, extra: SECRETS.badShape });

    // Read everything back.
    await client.beta.sessions.retrieve(session.id);
    for await (const _ of client.beta.sessions.resources.list(session.id));
    for await (const _ of client.beta.sessions.events.list(session.id));
    for await (const _ of creds.list(vault.id, { include_archived: true }));
    await creds.retrieve(oauth.id, { vault_id: vault.id });
    await creds.archive(env.id, { vault_id: vault.id });
    await client.beta.vaults.archive(vault.id);
    await creds.retrieve(bearer.id, { vault_id: vault.id });

    await p.stop(); // flush the log and checkpoint nothing further; the WAL stays as written

    const dbFiles = readdirSync(p.dataDir)
      .filter((f) => f.startsWith('paddock.db'))
      .map((f) => path.join(p.dataDir, f));
    expect(dbFiles.some((f) => f.endsWith('paddock.db'))).toBe(true);
    const haystacks: Array<[string, string]> = [
      ['responses', bodies.join('\n')],
      ['log', p.output()],
      ...dbFiles.filter((f) => existsSync(f) && statSync(f).size > 0).map((f) => [path.basename(f), readFileSync(f).toString('latin1')] as [string, string]),
    ];
    // The workload did reach the server: the ids are in the database and the responses.
    expect(haystacks.find(([n]) => n === 'responses')![1]).toContain(bearer.id);
    const found: string[] = [];
    for (const [label, secret] of Object.entries(SECRETS)) {
      for (const form of forms(secret)) {
        for (const [where, text] of haystacks) if (text.includes(form)) found.push(`${label} in ${where}`);
      }
    }
    // Tokens Paddock got from the token endpoint are secrets too.
    for (const issued of mcp.issued) for (const [where, text] of haystacks) if (text.includes(issued)) found.push(`issued token in ${where}`);
    expect(found).toEqual([]);
  });
});
