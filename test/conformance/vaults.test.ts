import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOAuthMcp, type FakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';

let p: PaddockProcess;
let client: Anthropic;
let mcp: FakeOAuthMcp;

beforeAll(async () => {
  // The stand-in MCP server and token endpoint listen on 127.0.0.1, which the outbound port refuses unless named.
  [p, mcp] = await Promise.all([startPaddock({ env: { PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' } }), startFakeOAuthMcp()]);
  client = p.client;
});
afterAll(async () => {
  await p?.stop();
  await mcp?.close();
});

let n = 0;
const newVault = () => client.beta.vaults.create({ display_name: `vault ${++n}` });
const creds = () => client.beta.vaults.credentials;

async function all<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

describe('vaults', () => {
  it('create, retrieve, update (metadata is a patch), list, archive, delete', async () => {
    const v = await client.beta.vaults.create({ display_name: 'Team vault', metadata: { team: 'a', env: 'dev' } });
    expect(v.id).toMatch(/^vlt_01/);
    expect(v).toMatchObject({ type: 'vault', display_name: 'Team vault', metadata: { team: 'a', env: 'dev' }, archived_at: null });
    expect(await client.beta.vaults.retrieve(v.id)).toEqual(v);
    const u = await client.beta.vaults.update(v.id, { display_name: 'Renamed', metadata: { env: null, owner: 'me' } });
    expect(u).toMatchObject({ display_name: 'Renamed', metadata: { team: 'a', owner: 'me' } });
    expect(u.metadata).not.toHaveProperty('env');
    expect(Date.parse(u.updated_at)).toBeGreaterThanOrEqual(Date.parse(v.updated_at));

    const listed = await all(client.beta.vaults.list({ limit: 1 }));
    expect(listed.map((x) => x.id)).toContain(v.id);

    const a = await client.beta.vaults.archive(v.id);
    expect(a.archived_at).not.toBeNull();
    expect((await all(client.beta.vaults.list())).map((x) => x.id)).not.toContain(v.id);
    expect((await all(client.beta.vaults.list({ include_archived: true }))).map((x) => x.id)).toContain(v.id);
    expect(await client.beta.vaults.delete(v.id)).toEqual({ id: v.id, type: 'vault_deleted' });
    await expect(client.beta.vaults.retrieve(v.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('display_name is required (1-255 characters)', async () => {
    for (const body of [{}, { display_name: '' }, { display_name: 'x'.repeat(256) }]) {
      const r = await raw(p, 'POST', '/v1/vaults', { body });
      expect(r.status).toBe(400);
      expect(r.json.error.message).toMatch(/display_name/);
    }
  });

  it('sessions: vault_ids must name existing, unarchived vaults', async () => {
    const env = await client.beta.environments.create({ name: 'vault-sessions' });
    const agent = await client.beta.agents.create({ name: 'vault-agent', model: 'claude-opus-4-7' });
    const v = await newVault();
    const s = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [v.id] });
    expect(s.vault_ids).toEqual([v.id]);
    const missing = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: ['vlt_01missing'] }).catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    await client.beta.vaults.archive(v.id);
    const archived = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [v.id] }).catch((e) => e);
    expect(archived).toBeInstanceOf(Anthropic.BadRequestError);
    expect(archived.error.error.message).toMatch(/archived/);
  });
});

describe('credentials: shapes', () => {
  it('static_bearer: secret never returned; retrieve, list, delete', async () => {
    const v = await newVault();
    const c = await creds().create(v.id, {
      display_name: 'Linear',
      metadata: { k: 'v' },
      auth: { type: 'static_bearer', token: 'tok-static-1', mcp_server_url: 'https://mcp.linear.app/mcp' },
    });
    expect(c.id).toMatch(/^vcrd_01/);
    expect(c).toEqual({
      type: 'vault_credential',
      id: c.id,
      vault_id: v.id,
      display_name: 'Linear',
      metadata: { k: 'v' },
      auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.linear.app/mcp' },
      created_at: c.created_at,
      updated_at: c.updated_at,
      archived_at: null,
    });
    expect(await creds().retrieve(c.id, { vault_id: v.id })).toEqual(c);
    expect((await all(creds().list(v.id))).map((x) => x.id)).toEqual([c.id]);
    expect(await creds().delete(c.id, { vault_id: v.id })).toEqual({ id: c.id, type: 'vault_credential_deleted' });
    await expect(creds().retrieve(c.id, { vault_id: v.id })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('mcp_oauth with refresh: the response shows the refresh config, not its secrets', async () => {
    const v = await newVault();
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const c = await creds().create(v.id, {
      auth: {
        type: 'mcp_oauth',
        mcp_server_url: 'https://mcp.notion.com/mcp',
        access_token: 'oauth-access',
        expires_at: expires,
        refresh: {
          client_id: 'client-1',
          refresh_token: 'oauth-refresh',
          token_endpoint: 'https://auth.example.com/token',
          token_endpoint_auth: { type: 'client_secret_post', client_secret: 'client-secret' },
          scope: 'read write',
        },
      },
    });
    expect(c.auth).toEqual({
      type: 'mcp_oauth',
      mcp_server_url: 'https://mcp.notion.com/mcp',
      expires_at: expires,
      refresh: {
        client_id: 'client-1',
        token_endpoint: 'https://auth.example.com/token',
        token_endpoint_auth: { type: 'client_secret_post' },
        resource: null,
        scope: 'read write',
      },
    });
    expect(c.display_name).toBeNull();
  });

  it('environment_variable: injection_location defaults and merge rules', async () => {
    const v = await newVault();
    const net = { type: 'limited' as const, allowed_hosts: ['api.twilio.com', '*.example.org', '10.0.0.1'] };
    const both = await creds().create(v.id, { auth: { type: 'environment_variable', secret_name: 'TWILIO_KEY', secret_value: 's1', networking: net } });
    expect(both.auth).toEqual({ type: 'environment_variable', secret_name: 'TWILIO_KEY', injection_location: { body: true, header: true }, networking: net });
    const headerOnly = await creds().create(v.id, {
      auth: {
        type: 'environment_variable',
        secret_name: 'HEADER_ONLY',
        secret_value: 's2',
        networking: { type: 'unrestricted' },
        injection_location: { header: true },
      },
    });
    expect(headerOnly.auth).toMatchObject({ injection_location: { body: false, header: true } });
    const merged = await creds().update(headerOnly.id, { vault_id: v.id, auth: { type: 'environment_variable', injection_location: { body: true } } });
    expect(merged.auth).toMatchObject({ injection_location: { body: true, header: true } });
    const off = await creds()
      .update(headerOnly.id, { vault_id: v.id, auth: { type: 'environment_variable', injection_location: { body: false, header: false } } })
      .catch((e) => e);
    expect(off).toBeInstanceOf(Anthropic.BadRequestError);
    const createOff = await creds()
      .create(v.id, {
        auth: {
          type: 'environment_variable',
          secret_name: 'NONE',
          secret_value: 's',
          networking: { type: 'unrestricted' },
          injection_location: { body: false },
        },
      })
      .catch((e) => e);
    expect(createOff).toBeInstanceOf(Anthropic.BadRequestError);
    const nulled = await raw(p, 'POST', `/v1/vaults/${v.id}/credentials/${headerOnly.id}`, {
      body: { auth: { type: 'environment_variable', injection_location: { body: null } } },
    });
    expect(nulled.status).toBe(400);
  });

  it('wrong shapes are 400s naming the field', async () => {
    const v = await newVault();
    const bad: Array<[unknown, RegExp]> = [
      [{ type: 'static_bearer', mcp_server_url: 'https://x.example/mcp' }, /auth\.token/],
      [{ type: 'static_bearer', token: 't', mcp_server_url: 'not a url' }, /auth\.mcp_server_url/],
      [{ type: 'static_bearer', token: 't', mcp_server_url: 'https://x.example/mcp', access_token: 'a' }, /auth\.access_token/],
      [{ type: 'mcp_oauth', access_token: 'a', mcp_server_url: 'https://x.example/mcp', expires_at: '2001-01-01T00:00:00Z' }, /expires_at/],
      [
        {
          type: 'mcp_oauth',
          access_token: 'a',
          mcp_server_url: 'https://x.example/mcp',
          refresh: { client_id: 'c', refresh_token: 'r', token_endpoint: 'https://t.example', token_endpoint_auth: { type: 'client_secret_basic' } },
        },
        /client_secret/,
      ],
      [
        {
          type: 'mcp_oauth',
          access_token: 'a',
          mcp_server_url: 'https://x.example/mcp',
          refresh: { client_id: 'c', refresh_token: 'r', token_endpoint: 'https://t.example', token_endpoint_auth: { type: 'magic' } },
        },
        /token_endpoint_auth\.type/,
      ],
      [{ type: 'environment_variable', secret_name: '1BAD', secret_value: 'v', networking: { type: 'unrestricted' } }, /secret_name/],
      [{ type: 'environment_variable', secret_name: 'OK', secret_value: 'v' }, /networking/],
      [
        { type: 'environment_variable', secret_name: 'OK', secret_value: 'v', networking: { type: 'limited', allowed_hosts: ['https://x.com/path'] } },
        /allowed_hosts\.0/,
      ],
      [
        {
          type: 'environment_variable',
          secret_name: 'OK',
          secret_value: 'v',
          networking: { type: 'limited', allowed_hosts: Array.from({ length: 17 }, (_, i) => `h${i}.com`) },
        },
        /allowed_hosts/,
      ],
      [{ type: 'password', value: 'x' }, /auth\.type/],
      ['just a string', /auth/],
    ];
    for (const [auth, msg] of bad) {
      const r = await raw(p, 'POST', `/v1/vaults/${v.id}/credentials`, { body: { auth } });
      expect(r.status, JSON.stringify(auth)).toBe(400);
      expect(r.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(r.json.error.message).toMatch(msg);
    }
    const noVault = await raw(p, 'POST', '/v1/vaults/vlt_01missing/credentials', {
      body: { auth: { type: 'static_bearer', token: 't', mcp_server_url: 'https://x.example/mcp' } },
    });
    expect(noVault.status).toBe(404);
  });
});

describe('credentials: keys, limits, lifecycle', () => {
  const bearer = (url: string, token = 't') => ({ auth: { type: 'static_bearer' as const, token, mcp_server_url: url } });

  it('a duplicate key among active credentials is a 409 the SDK must not retry; archiving frees it', async () => {
    const v = await newVault();
    const first = await creds().create(v.id, bearer('https://dup.example/mcp'));
    const dup = await raw(p, 'POST', `/v1/vaults/${v.id}/credentials`, {
      body: { auth: { type: 'mcp_oauth', access_token: 'a', mcp_server_url: 'https://dup.example/mcp' } },
    });
    expect(dup.status).toBe(409);
    expect(dup.headers.get('x-should-retry')).toBe('false');
    expect(dup.json.error.type).toBe('conflict_error');
    const env = { type: 'environment_variable' as const, secret_name: 'DUP', secret_value: 'v', networking: { type: 'unrestricted' as const } };
    await creds().create(v.id, { auth: env });
    await expect(creds().create(v.id, { auth: env })).rejects.toBeInstanceOf(Anthropic.ConflictError);
    // The same key in another vault is fine.
    await creds().create((await newVault()).id, bearer('https://dup.example/mcp'));

    const archived = await creds().archive(first.id, { vault_id: v.id });
    expect(archived.archived_at).not.toBeNull();
    const again = await creds().create(v.id, bearer('https://dup.example/mcp'));
    expect(again.id).not.toBe(first.id);
    expect((await all(creds().list(v.id))).map((c) => c.id)).not.toContain(first.id);
    expect((await all(creds().list(v.id, { include_archived: true }))).map((c) => c.id)).toContain(first.id);
  });

  it('at most 20 active credentials per vault', async () => {
    const v = await newVault();
    for (let i = 0; i < 20; i++) await creds().create(v.id, bearer(`https://m${i}.example/mcp`));
    const over = await creds()
      .create(v.id, bearer('https://m20.example/mcp'))
      .catch((e) => e);
    expect(over).toBeInstanceOf(Anthropic.BadRequestError);
    expect(over.error.error.message).toMatch(/20/);
    const page = await creds().list(v.id, { limit: 7 });
    expect(page.data).toHaveLength(7);
    expect((await all(creds().list(v.id, { limit: 7 }))).length).toBe(20);
  });

  it('keys are immutable and the auth type cannot change on update', async () => {
    const v = await newVault();
    const c = await creds().create(v.id, bearer('https://imm.example/mcp'));
    const moved = await raw(p, 'POST', `/v1/vaults/${v.id}/credentials/${c.id}`, {
      body: { auth: { type: 'static_bearer', mcp_server_url: 'https://other.example/mcp' } },
    });
    expect(moved.status).toBe(400);
    expect(moved.json.error.message).toMatch(/mcp_server_url.*cannot be changed/);
    const same = await creds().update(c.id, { vault_id: v.id, display_name: 'renamed', auth: { type: 'static_bearer' } });
    expect(same.display_name).toBe('renamed');
    const retyped = await raw(p, 'POST', `/v1/vaults/${v.id}/credentials/${c.id}`, { body: { auth: { type: 'mcp_oauth', access_token: 'x' } } });
    expect(retyped.status).toBe(400);
    expect(retyped.json.error.message).toMatch(/auth\.type/);
    const env = await creds().create(v.id, {
      auth: { type: 'environment_variable', secret_name: 'IMM', secret_value: 'v', networking: { type: 'unrestricted' } },
    });
    const renamed = await raw(p, 'POST', `/v1/vaults/${v.id}/credentials/${env.id}`, {
      body: { auth: { type: 'environment_variable', secret_name: 'OTHER' } },
    });
    expect(renamed.status).toBe(400);
  });

  it('archiving a vault archives its credentials', async () => {
    const v = await newVault();
    const c = await creds().create(v.id, bearer('https://arch.example/mcp'));
    await client.beta.vaults.archive(v.id);
    expect((await creds().retrieve(c.id, { vault_id: v.id })).archived_at).not.toBeNull();
    await expect(creds().create(v.id, bearer('https://arch2.example/mcp'))).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('a credential is only reachable under its own vault', async () => {
    const v1 = await newVault();
    const v2 = await newVault();
    const c = await creds().create(v1.id, bearer('https://own.example/mcp'));
    await expect(creds().retrieve(c.id, { vault_id: v2.id })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('credentials: mcp_oauth_validate and rotation', () => {
  it('static_bearer: valid against a server that accepts the token; rotating the token is what the probe sees', async () => {
    const v = await newVault();
    mcp.validTokens.add('bearer-old');
    const c = await creds().create(v.id, { auth: { type: 'static_bearer', token: 'bearer-old', mcp_server_url: mcp.mcpUrl } });
    const ok = await creds().mcpOAuthValidate(c.id, { vault_id: v.id });
    expect(ok).toMatchObject({
      type: 'vault_credential_validation',
      credential_id: c.id,
      vault_id: v.id,
      status: 'valid',
      has_refresh_token: false,
      refresh: null,
      mcp_probe: { method: 'initialize', http_response: { status_code: 200, body_truncated: false } },
    });
    // Rotate to a token the server does not know: validation now reports it invalid, and the
    // server's echo of the refused token is redacted.
    await creds().update(c.id, { vault_id: v.id, auth: { type: 'static_bearer', token: 'bearer-new' } });
    const bad = await creds().mcpOAuthValidate(c.id, { vault_id: v.id });
    expect(bad.status).toBe('invalid');
    expect(bad.mcp_probe?.http_response?.status_code).toBe(401);
    expect(JSON.stringify(bad)).not.toContain('bearer-new');
    mcp.validTokens.add('bearer-new');
    expect((await creds().mcpOAuthValidate(c.id, { vault_id: v.id })).status).toBe('valid');
  });

  for (const via of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
    it(`mcp_oauth: a refused token is refreshed at the token endpoint (${via}) and the new tokens are kept`, async () => {
      const v = await newVault();
      const refreshToken = `rt-${via}-${Math.random()}`;
      mcp.refreshTokens.set(refreshToken, {
        clientId: 'cid',
        clientSecret: via === 'none' ? undefined : 'csecret',
        via: via === 'none' ? undefined : via === 'client_secret_basic' ? 'basic' : 'post',
      });
      const c = await creds().create(v.id, {
        auth: {
          type: 'mcp_oauth',
          mcp_server_url: mcp.mcpUrl,
          access_token: 'stale-access',
          refresh: {
            client_id: 'cid',
            refresh_token: refreshToken,
            token_endpoint: mcp.tokenUrl,
            token_endpoint_auth: via === 'none' ? { type: 'none' } : { type: via, client_secret: 'csecret' },
          },
        },
      });
      const r = await creds().mcpOAuthValidate(c.id, { vault_id: v.id });
      expect(r).toMatchObject({ status: 'valid', has_refresh_token: true, refresh: { status: 'succeeded', http_response: { status_code: 200 } } });
      const text = JSON.stringify(r);
      for (const s of [refreshToken, 'csecret', 'stale-access', ...mcp.issued]) expect(text).not.toContain(s);
      // The rotated refresh token was stored: the old one is spent, yet validation still passes.
      const again = await creds().mcpOAuthValidate(c.id, { vault_id: v.id });
      expect(again).toMatchObject({ status: 'valid', refresh: null });
      expect((await creds().retrieve(c.id, { vault_id: v.id })).auth).toMatchObject({ type: 'mcp_oauth', expires_at: expect.any(String) });
    });
  }

  it('mcp_oauth: without a refresh block a refused token is invalid; a failed refresh too; an unreachable server is unknown', async () => {
    const v = await newVault();
    const noRefresh = await creds().create(v.id, { auth: { type: 'mcp_oauth', mcp_server_url: mcp.mcpUrl, access_token: 'nope' } });
    expect(await creds().mcpOAuthValidate(noRefresh.id, { vault_id: v.id })).toMatchObject({
      status: 'invalid',
      has_refresh_token: false,
      refresh: { status: 'no_refresh_token', http_response: null },
    });
    const badRefresh = await creds().create(v.id, {
      auth: {
        type: 'mcp_oauth',
        mcp_server_url: `${mcp.url}/mcp?second`,
        access_token: 'nope',
        refresh: { client_id: 'cid', refresh_token: 'unknown-refresh', token_endpoint: mcp.tokenUrl, token_endpoint_auth: { type: 'none' } },
      },
    });
    const failed = await creds().mcpOAuthValidate(badRefresh.id, { vault_id: v.id });
    expect(failed).toMatchObject({ status: 'invalid', refresh: { status: 'failed', http_response: { status_code: 400 } } });
    expect(JSON.stringify(failed)).not.toContain('unknown-refresh');
    const down = await creds().create(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'http://127.0.0.1:9/mcp', token: 't' } });
    expect(await creds().mcpOAuthValidate(down.id, { vault_id: v.id })).toMatchObject({ status: 'unknown', mcp_probe: { http_response: null } });
    const env = await creds().create(v.id, {
      auth: { type: 'environment_variable', secret_name: 'E', secret_value: 'v', networking: { type: 'unrestricted' } },
    });
    await expect(creds().mcpOAuthValidate(env.id, { vault_id: v.id })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('an archived credential has no secret left to validate', async () => {
    const v = await newVault();
    mcp.validTokens.add('soon-archived');
    const c = await creds().create(v.id, { auth: { type: 'static_bearer', token: 'soon-archived', mcp_server_url: `${mcp.mcpUrl}?arch` } });
    await creds().archive(c.id, { vault_id: v.id });
    await expect(creds().mcpOAuthValidate(c.id, { vault_id: v.id })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(creds().update(c.id, { vault_id: v.id, display_name: 'x' })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});
