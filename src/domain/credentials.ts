import type {
  BetaManagedAgentsCredential,
  BetaManagedAgentsCredentialValidation,
  BetaManagedAgentsDeletedCredential,
} from '@anthropic-ai/sdk/resources/beta/vaults/credentials';
import { keyset } from '../store/keyset.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import { probeMcp, refreshGrant, type OAuthRefreshConfig, type ProbeResult, type RefreshResult } from '../vault/oauth.js';
import type { SecretBox } from '../vault/crypto.js';
import type { Static } from '@sinclair/typebox';
import type { CreateAuth, CredentialCreate, CredentialUpdate, UpdateAuth } from '../http/schemas/credentials.js';
import { ApiError, invalid, notFound } from './errors.js';
import { hasPrefix, newId } from './ids.js';
import { nowIso, parseIso } from './time.js';
import { createMetadata, patchMetadata } from './validate.js';
import type { VaultContents, Vaults } from './vaults.js';
import type { Outbound } from '../net/outbound.js';
import type { RefreshLocks } from '../vault/refresh-lock.js';

export interface CredentialsTable {
  id: string;
  vault_id: string;
  auth_type: string;
  key: string;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
  /** The sealed CredentialSecrets (src/vault/crypto.ts); null once archived. */
  secret: string | null;
  data: string;
}

declare module '../store/schema.js' {
  interface Database {
    credentials: CredentialsTable;
  }
}

type TokenEndpointAuth = { type: 'none' } | { type: 'client_secret_basic' } | { type: 'client_secret_post' };
export type CredentialNetworking = { type: 'unrestricted' } | { type: 'limited'; allowed_hosts: string[] };

/** The public half of a credential's auth: what responses show. */
export type CredentialAuth =
  | {
      type: 'mcp_oauth';
      mcp_server_url: string;
      expires_at: string | null;
      refresh: (OAuthRefreshConfig & { token_endpoint_auth: TokenEndpointAuth; resource: string | null; scope: string | null }) | null;
    }
  | { type: 'static_bearer'; mcp_server_url: string }
  | {
      type: 'environment_variable';
      secret_name: string;
      injection_location: { body: boolean; header: boolean };
      networking: CredentialNetworking;
    };

/** The write-only half, kept only sealed. */
export interface CredentialSecrets {
  access_token?: string;
  refresh_token?: string;
  client_secret?: string;
  token?: string;
  secret_value?: string;
}

/** A credential as the SDK declares it, with the fields Paddock always sets made required. */
export interface Credential extends BetaManagedAgentsCredential {
  display_name: string | null;
  auth: CredentialAuth;
}

export interface CredentialValidation extends BetaManagedAgentsCredentialValidation {
  mcp_probe: ProbeResult | null;
  refresh: { status: RefreshResult['status'] | 'no_refresh_token'; http_response: RefreshResult['http_response'] } | null;
}

/** What the MCP client and the egress proxy get for a session (decrypted; never leave the server). */
export interface McpCredential {
  credentialId: string;
  vaultId: string;
  type: 'mcp_oauth' | 'static_bearer';
  mcpServerUrl: string;
  /**
   * The bearer token to send. An OAuth token close to expiry is refreshed (and stored) first;
   * after the server refused `rejected`, the stored token if it has changed since, else a refreshed
   * one. Throws CredentialUnusable when there is none to give.
   */
  accessToken(rejected?: string): Promise<string>;
}

/** A credential cannot give a token the server would take. The message names ids, never a secret. */
export class CredentialUnusable extends Error {}

export interface EnvironmentVariableCredential {
  credentialId: string;
  vaultId: string;
  secretName: string;
  secretValue: string;
  injectionLocation: { body: boolean; header: boolean };
  networking: CredentialNetworking;
}

export interface SessionCredentials {
  /** The credential for an MCP server URL: the first vault in `vault_ids` that has one wins. */
  mcp(url: string): McpCredential | undefined;
  environmentVariables: EnvironmentVariableCredential[];
}

export const MAX_CREDENTIALS_PER_VAULT = 20;
const REFRESH_SOON_MS = 60_000;
/** How long a token request waits for a refresh of the same credential under way elsewhere. */
const REFRESH_WAIT_MS = 40_000;

/** Request bodies, as checked at the route edge (src/http/schemas/credentials.ts). */
export type CredentialCreateInput = Static<typeof CredentialCreate>;
export type CredentialUpdateInput = Static<typeof CredentialUpdate>;
type CreateAuthInput = Static<typeof CreateAuth>;
type UpdateAuthInput = Static<typeof UpdateAuth>;
type EndpointAuthInput = { type: TokenEndpointAuth['type']; client_secret?: string | null };

// Messages name the field and never the value: values here are secrets.

function expiresAt(v: string | null | undefined, field: string): string | null {
  if (v === undefined || v === null) return null;
  const d = parseIso(v)!;
  if (d.getTime() <= Date.now()) throw invalid(`${field}: must be in the future`);
  return d.toISOString();
}

function endpointAuth(o: EndpointAuthInput, field: string, secrets: CredentialSecrets, current?: TokenEndpointAuth): TokenEndpointAuth {
  if (o.type === 'none') {
    delete secrets.client_secret;
    return { type: 'none' };
  }
  // On update the secret may be omitted when the method already had one.
  const keep = current && current.type !== 'none' && (o.client_secret === undefined || o.client_secret === null) && secrets.client_secret;
  if (!keep) {
    if (!o.client_secret) throw invalid(`${field}.client_secret: must be a non-empty string`);
    secrets.client_secret = o.client_secret;
  }
  return { type: o.type };
}

/** Create: omitted → both true; a given object → omitted fields false. Update: fields merge. */
function injectionLocation(
  v: { body?: boolean; header?: boolean } | undefined,
  field: string,
  current?: { body: boolean; header: boolean },
): { body: boolean; header: boolean } {
  if (v === undefined) return current ?? { body: true, header: true };
  const out = { ...(current ?? { body: false, header: false }) };
  if (v.body !== undefined) out.body = v.body;
  if (v.header !== undefined) out.header = v.header;
  if (!out.body && !out.header) throw invalid(`${field}: at least one of body and header must be true`);
  return out;
}

function parseCreateAuth(a: CreateAuthInput): { auth: CredentialAuth; secrets: CredentialSecrets } {
  if (a.type === 'static_bearer') return { auth: { type: a.type, mcp_server_url: a.mcp_server_url }, secrets: { token: a.token } };
  if (a.type === 'environment_variable') {
    return {
      auth: {
        type: a.type,
        secret_name: a.secret_name,
        injection_location: injectionLocation(a.injection_location, 'auth.injection_location'),
        networking: a.networking,
      },
      secrets: { secret_value: a.secret_value },
    };
  }
  const secrets: CredentialSecrets = { access_token: a.access_token };
  let refresh: Extract<CredentialAuth, { type: 'mcp_oauth' }>['refresh'] = null;
  if (a.refresh !== undefined && a.refresh !== null) {
    const r = a.refresh;
    secrets.refresh_token = r.refresh_token;
    refresh = {
      client_id: r.client_id,
      token_endpoint: r.token_endpoint,
      token_endpoint_auth: endpointAuth(r.token_endpoint_auth, 'auth.refresh.token_endpoint_auth', secrets),
      resource: r.resource ?? null,
      scope: r.scope ?? null,
    };
  }
  return { auth: { type: a.type, mcp_server_url: a.mcp_server_url, expires_at: expiresAt(a.expires_at, 'auth.expires_at'), refresh }, secrets };
}

/** Keys and endpoint identity cannot change; sending the same value again is allowed. */
function immutable(given: unknown, current: unknown, field: string): void {
  if (given !== undefined && given !== current) {
    throw invalid(`${field}: cannot be changed; archive this credential and create a new one`);
  }
}

function applyUpdateAuth(a: UpdateAuthInput, cur: CredentialAuth, secrets: CredentialSecrets): CredentialAuth {
  if (a.type !== cur.type) throw invalid(`auth.type: a credential's type cannot change (this one is ${cur.type})`);
  if (a.type === 'static_bearer' && cur.type === 'static_bearer') {
    immutable(a.mcp_server_url, cur.mcp_server_url, 'auth.mcp_server_url');
    if (a.token !== undefined && a.token !== null) secrets.token = a.token;
    return cur;
  }
  if (a.type === 'environment_variable' && cur.type === 'environment_variable') {
    immutable(a.secret_name, cur.secret_name, 'auth.secret_name');
    if (a.secret_value !== undefined && a.secret_value !== null) secrets.secret_value = a.secret_value;
    return {
      ...cur,
      networking: a.networking ?? cur.networking,
      injection_location: injectionLocation(a.injection_location, 'auth.injection_location', cur.injection_location),
    };
  }
  if (a.type !== 'mcp_oauth' || cur.type !== 'mcp_oauth') return cur;
  immutable(a.mcp_server_url, cur.mcp_server_url, 'auth.mcp_server_url');
  const next = { ...cur };
  if (a.access_token !== undefined && a.access_token !== null) secrets.access_token = a.access_token;
  if (a.expires_at !== undefined) next.expires_at = expiresAt(a.expires_at, 'auth.expires_at');
  if (a.refresh === null) {
    next.refresh = null;
    delete secrets.refresh_token;
    delete secrets.client_secret;
  } else if (a.refresh !== undefined) {
    const r = a.refresh;
    if (!cur.refresh) throw invalid('auth.refresh: this credential has no refresh configuration; archive it and create one with refresh');
    immutable(r.client_id, cur.refresh.client_id, 'auth.refresh.client_id');
    immutable(r.token_endpoint, cur.refresh.token_endpoint, 'auth.refresh.token_endpoint');
    const refresh = { ...cur.refresh };
    if (r.refresh_token !== undefined && r.refresh_token !== null) secrets.refresh_token = r.refresh_token;
    if (r.scope !== undefined) refresh.scope = r.scope;
    if (r.resource !== undefined) refresh.resource = r.resource;
    if (r.token_endpoint_auth !== undefined && r.token_endpoint_auth !== null) {
      refresh.token_endpoint_auth = endpointAuth(r.token_endpoint_auth, 'auth.refresh.token_endpoint_auth', secrets, cur.refresh.token_endpoint_auth);
    }
    next.refresh = refresh;
  }
  return next;
}

function keyOf(auth: CredentialAuth): string {
  return auth.type === 'environment_variable' ? `env:${auth.secret_name}` : `mcp:${auth.mcp_server_url}`;
}

function duplicate(auth: CredentialAuth): ApiError {
  const what = auth.type === 'environment_variable' ? `secret_name ${auth.secret_name}` : 'this mcp_server_url';
  return new ApiError(409, 'conflict_error', `This vault already has an active credential for ${what}; archive it first`);
}

/** Credentials are found by their server's URL as parsed, so `HTTPS://Host:443/mcp` finds `https://host/mcp`. */
function mcpKey(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

function expiresSoon(auth: { expires_at: string | null }): boolean {
  return auth.expires_at !== null && Date.parse(auth.expires_at) - Date.now() < REFRESH_SOON_MS;
}

/** What became of a failed refresh, without the token endpoint's body (it is where secrets live). */
function describeRefresh(r: RefreshResult): string {
  if (r.status === 'connect_error') return 'the token endpoint could not be reached';
  if (r.http_response) return `the token endpoint answered HTTP ${r.http_response.status_code}`;
  return 'no new token was issued';
}

export class Credentials implements VaultContents {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly vaults: Vaults,
    private readonly box: SecretBox,
    /** The server's way out: refresh grants and MCP probes go to user-given URLs. */
    private readonly outbound: Outbound,
    /** One refresh of a credential at a time, across nodes. */
    private readonly locks: RefreshLocks,
  ) {}

  /** The vault is being archived: so are its credentials, their secrets purged. */
  async archiveAll(vaultId: string): Promise<void> {
    const now = nowIso();
    const rows = await this.db.selectFrom('credentials').select('data').where('vault_id', '=', vaultId).where('archived_at', 'is', null).execute();
    for (const r of rows) await this.save({ ...readJson<Credential>(r.data), archived_at: now, updated_at: now }, null);
  }

  async deleteAll(vaultId: string): Promise<void> {
    await this.db.deleteFrom('credentials').where('vault_id', '=', vaultId).execute();
  }

  private seal(id: string, secrets: CredentialSecrets): string {
    return this.box.sealJson(secrets, `credential:${id}`);
  }

  private async secretsOf(id: string): Promise<CredentialSecrets> {
    const row = await this.db.selectFrom('credentials').select('secret').where('id', '=', id).executeTakeFirst();
    return row?.secret ? this.box.openJson<CredentialSecrets>(row.secret, `credential:${id}`) : {};
  }

  private async save(c: Credential, secrets: CredentialSecrets | null): Promise<Credential> {
    await this.db
      .updateTable('credentials')
      .set({ updated_at: c.updated_at, archived_at: c.archived_at, secret: secrets ? this.seal(c.id, secrets) : null, data: JSON.stringify(c) })
      .where('id', '=', c.id)
      .execute();
    return c;
  }

  async create(vaultId: string, b: CredentialCreateInput): Promise<Credential> {
    const vault = await this.vaults.get(vaultId);
    if (vault.archived_at) throw invalid(`Vault ${vaultId} is archived`);
    const { auth, secrets } = parseCreateAuth(b.auth);
    const now = nowIso();
    const cred: Credential = {
      type: 'vault_credential',
      id: newId('credential'),
      vault_id: vault.id,
      display_name: b.display_name ?? null,
      metadata: createMetadata(b.metadata),
      auth,
      created_at: now,
      updated_at: now,
      archived_at: null,
    } satisfies BetaManagedAgentsCredential;
    const active = this.db.selectFrom('credentials').where('vault_id', '=', vault.id).where('archived_at', 'is', null);
    if (await active.select('id').where('key', '=', keyOf(auth)).executeTakeFirst()) throw duplicate(auth);
    const { n } = await active.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(n) >= MAX_CREDENTIALS_PER_VAULT) {
      throw invalid(`A vault holds at most ${MAX_CREDENTIALS_PER_VAULT} active credentials; archive one first`);
    }
    try {
      await this.db
        .insertInto('credentials')
        .values({
          id: cred.id,
          vault_id: vault.id,
          auth_type: auth.type,
          key: keyOf(auth),
          created_at: now,
          updated_at: now,
          archived_at: null,
          secret: this.seal(cred.id, secrets),
          data: JSON.stringify(cred),
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(auth);
      throw err;
    }
    return cred;
  }

  async get(vaultId: string, id: string): Promise<Credential> {
    if (!hasPrefix(id, 'credential') || !hasPrefix(vaultId, 'vault')) throw notFound('Credential', id);
    const row = await this.db.selectFrom('credentials').select('data').where('id', '=', id).where('vault_id', '=', vaultId).executeTakeFirst();
    if (!row) throw notFound('Credential', id);
    return readJson<Credential>(row.data);
  }

  async update(vaultId: string, id: string, b: CredentialUpdateInput): Promise<Credential> {
    const cur = await this.get(vaultId, id);
    if (cur.archived_at) throw invalid(`Credential ${id} is archived; create a new one`);
    const secrets = await this.secretsOf(id);
    const next: Credential = { ...cur };
    if (b.auth !== undefined && b.auth !== null) next.auth = applyUpdateAuth(b.auth, cur.auth, secrets);
    if (b.display_name !== undefined) next.display_name = b.display_name;
    if (b.metadata !== undefined) next.metadata = patchMetadata(cur.metadata, b.metadata);
    next.updated_at = nowIso();
    return this.save(next, secrets);
  }

  /** Archiving is terminal, purges the secret and frees the key for a replacement. */
  async archive(vaultId: string, id: string): Promise<Credential> {
    const cur = await this.get(vaultId, id);
    if (cur.archived_at) return cur;
    const now = nowIso();
    return this.save({ ...cur, archived_at: now, updated_at: now }, null);
  }

  async delete(vaultId: string, id: string): Promise<BetaManagedAgentsDeletedCredential> {
    await this.get(vaultId, id);
    await this.db.deleteFrom('credentials').where('id', '=', id).execute();
    return { id, type: 'vault_credential_deleted' };
  }

  async list(
    vaultId: string,
    q: { includeArchived: boolean; after?: string; before?: string; direction: 'asc' | 'desc'; limit: number },
  ): Promise<Credential[]> {
    await this.vaults.get(vaultId);
    let query = this.db.selectFrom('credentials').select('data').where('vault_id', '=', vaultId);
    if (!q.includeArchived) query = query.where('archived_at', 'is', null);
    const rows = await keyset(query, 'id', q).execute();
    return rows.map((r) => readJson<Credential>(r.data));
  }

  /** Runs the refresh grant and stores what it returns (a rotated refresh token included). */
  private async refresh(cred: Credential, secrets: CredentialSecrets): Promise<RefreshResult> {
    if (cred.auth.type !== 'mcp_oauth' || !cred.auth.refresh || !secrets.refresh_token) return { status: 'failed', http_response: null };
    const result = await refreshGrant(this.outbound, cred.auth.refresh, { refresh_token: secrets.refresh_token, client_secret: secrets.client_secret });
    if (result.status === 'succeeded' && result.tokens) {
      secrets.access_token = result.tokens.access_token;
      if (result.tokens.refresh_token) secrets.refresh_token = result.tokens.refresh_token;
      const auth = { ...cred.auth, expires_at: result.tokens.expires_at };
      await this.save({ ...cred, auth, updated_at: nowIso() }, secrets);
    }
    return result;
  }

  /**
   * `mcp_oauth_validate`: probes the MCP server with the stored token; when the server refuses
   * it (or it has expired) and a refresh is configured, runs the refresh grant and probes again.
   */
  async validate(vaultId: string, id: string): Promise<CredentialValidation> {
    const cred = await this.get(vaultId, id);
    if (cred.archived_at) throw invalid(`Credential ${id} is archived`);
    if (cred.auth.type === 'environment_variable') throw invalid('mcp_oauth_validate applies to MCP credentials (mcp_oauth or static_bearer)');
    const secrets = await this.secretsOf(id);
    const token = (cred.auth.type === 'mcp_oauth' ? secrets.access_token : secrets.token) ?? '';
    let probe = await probeMcp(this.outbound, cred.auth.mcp_server_url, token);
    let refresh: CredentialValidation['refresh'] = null;
    const refused = probe.http_response !== null && [401, 403].includes(probe.http_response.status_code);
    const expired = cred.auth.type === 'mcp_oauth' && cred.auth.expires_at !== null && Date.parse(cred.auth.expires_at) <= Date.now();
    if (cred.auth.type === 'mcp_oauth' && (refused || expired)) {
      if (!cred.auth.refresh || !secrets.refresh_token) {
        refresh = { status: 'no_refresh_token', http_response: null };
      } else {
        const r = await this.refreshOnce(vaultId, id, token);
        refresh = { status: r.status, http_response: r.http_response };
        if (r.status === 'succeeded' && r.token) probe = await probeMcp(this.outbound, cred.auth.mcp_server_url, r.token);
      }
    }
    const code = probe.http_response?.status_code;
    const status = code === undefined ? 'unknown' : code >= 200 && code < 300 ? 'valid' : code === 401 || code === 403 ? 'invalid' : 'unknown';
    return {
      type: 'vault_credential_validation',
      credential_id: cred.id,
      vault_id: cred.vault_id,
      validated_at: nowIso(),
      status: refresh && refresh.status !== 'succeeded' && status !== 'valid' ? 'invalid' : status,
      has_refresh_token: Boolean(secrets.refresh_token),
      mcp_probe: probe,
      refresh,
    } satisfies BetaManagedAgentsCredentialValidation;
  }

  /**
   * The decrypted credentials a session may use, for the MCP client (by `mcp_server_url`) and the
   * egress proxy (environment variables). Vault order matters: the first vault with a key wins.
   */
  async resolveForSession(vaultIds: string[]): Promise<SessionCredentials> {
    const mcp = new Map<string, McpCredential>();
    const env = new Map<string, EnvironmentVariableCredential>();
    for (const vaultId of vaultIds) {
      const rows = await this.db
        .selectFrom('credentials')
        .select(['id', 'data', 'secret'])
        .where('vault_id', '=', vaultId)
        .where('archived_at', 'is', null)
        .orderBy('id', 'asc')
        .execute();
      for (const row of rows) {
        const cred = readJson<Credential>(row.data);
        const a = cred.auth;
        if (!row.secret) continue;
        if (a.type === 'environment_variable') {
          if (env.has(a.secret_name)) continue;
          const s = this.box.openJson<CredentialSecrets>(row.secret, `credential:${cred.id}`);
          env.set(a.secret_name, {
            credentialId: cred.id,
            vaultId,
            secretName: a.secret_name,
            secretValue: s.secret_value ?? '',
            injectionLocation: a.injection_location,
            networking: a.networking,
          });
        } else if (!mcp.has(mcpKey(a.mcp_server_url))) {
          mcp.set(mcpKey(a.mcp_server_url), this.mcpCredential(cred, a));
        }
      }
    }
    return { mcp: (u) => mcp.get(mcpKey(u)), environmentVariables: [...env.values()] };
  }

  /** The MCP credential for the server at `url`: the first vault in `vaultIds` that holds one wins. */
  async mcpFor(vaultIds: string[], url: string): Promise<McpCredential | undefined> {
    for (const vaultId of vaultIds) {
      const rows = await this.db
        .selectFrom('credentials')
        .select('data')
        .where('vault_id', '=', vaultId)
        .where('archived_at', 'is', null)
        .where('auth_type', 'in', ['mcp_oauth', 'static_bearer'])
        .orderBy('id', 'asc')
        .execute();
      for (const row of rows) {
        const cred = readJson<Credential>(row.data);
        const a = cred.auth;
        if (a.type !== 'environment_variable' && mcpKey(a.mcp_server_url) === mcpKey(url)) return this.mcpCredential(cred, a);
      }
    }
    return undefined;
  }

  private mcpCredential(cred: Credential, a: Extract<CredentialAuth, { mcp_server_url: string }>): McpCredential {
    return {
      credentialId: cred.id,
      vaultId: cred.vault_id,
      type: a.type,
      mcpServerUrl: a.mcp_server_url,
      accessToken: (rejected) => this.currentToken(cred.vault_id, cred.id, rejected),
    };
  }

  private async currentToken(vaultId: string, id: string, rejected?: string): Promise<string> {
    const cred = await this.get(vaultId, id);
    const what = `credential ${id} (vault ${vaultId})`;
    if (cred.archived_at) throw new CredentialUnusable(`${what} was archived`);
    const secrets = await this.secretsOf(id);
    if (cred.auth.type === 'static_bearer') {
      if (rejected !== undefined && secrets.token === rejected) throw new CredentialUnusable(`the MCP server refused the token of ${what}`);
      return secrets.token ?? '';
    }
    if (cred.auth.type !== 'mcp_oauth') throw new CredentialUnusable(`${what} is not an MCP credential`);
    const token = secrets.access_token ?? '';
    const refused = rejected !== undefined && token === rejected;
    if (!refused && !expiresSoon(cred.auth)) return token;
    if (!cred.auth.refresh || !secrets.refresh_token) {
      // An expired token without a refresh is still sent: the server is the judge of it.
      if (!refused) return token;
      throw new CredentialUnusable(`the MCP server refused the access token of ${what}, which has no refresh configured`);
    }
    const r = await this.refreshOnce(vaultId, id, token);
    if (r.status === 'succeeded' && r.token) return r.token;
    throw new CredentialUnusable(`refreshing the access token of ${what} failed: ${describeRefresh(r)}`);
  }

  /**
   * Replaces `stale` (the access token a caller found expired or refused) with a refreshed one,
   * so that however many callers find the same token stale at once, on however many nodes, the
   * token endpoint gets one request: the first to take the credential's lock refreshes; the
   * others wait for it to finish and take what it stored. A caller that waited and finds no new
   * token reports the refresh as failed rather than trying again itself.
   */
  private async refreshOnce(vaultId: string, id: string, stale: string): Promise<RefreshResult & { token?: string }> {
    const deadline = Date.now() + REFRESH_WAIT_MS;
    let waited = false;
    for (;;) {
      const cred = await this.get(vaultId, id);
      if (cred.archived_at) return { status: 'failed', http_response: null };
      const secrets = await this.secretsOf(id);
      const current = secrets.access_token ?? '';
      if (current !== stale && cred.auth.type === 'mcp_oauth' && !expiresSoon(cred.auth)) return { status: 'succeeded', http_response: null, token: current };
      if (waited) return { status: 'failed', http_response: null };
      const holder = await this.locks.claim(id);
      if (!holder) {
        waited = true;
        await this.locks.waitFree(id, deadline);
        continue;
      }
      try {
        // Under the lock, read again: a refresh may have finished between the read above and the claim.
        const fresh = await this.secretsOf(id);
        const now = await this.get(vaultId, id);
        if ((fresh.access_token ?? '') !== stale && now.auth.type === 'mcp_oauth' && !expiresSoon(now.auth)) {
          return { status: 'succeeded', http_response: null, token: fresh.access_token };
        }
        const result = await this.refresh(now, fresh);
        return result.status === 'succeeded' ? { ...result, token: fresh.access_token } : result;
      } finally {
        await this.locks.release(id, holder);
      }
    }
  }

  /** Re-seals every stored secret with the box's current key (master key rotation). */
  static async reseal(db: Kysely<Database>, from: SecretBox, to: SecretBox): Promise<number> {
    const rows = await db.selectFrom('credentials').select(['id', 'secret']).where('secret', 'is not', null).execute();
    for (const r of rows) {
      const aad = `credential:${r.id}`;
      await db
        .updateTable('credentials')
        .set({ secret: to.seal(from.open(r.secret!, aad), aad) })
        .where('id', '=', r.id)
        .execute();
    }
    return rows.length;
  }
}
