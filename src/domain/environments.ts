import type {
  BetaCloudConfig,
  BetaEnvironment,
  BetaEnvironmentDeleteResponse,
  BetaPackages,
  BetaSelfHostedConfig,
} from '@anthropic-ai/sdk/resources/beta/environments/environments';
import { keyset } from '../store/keyset.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import { optStr, str } from './agent-config.js';
import { ApiError, invalid, notFound } from './errors.js';
import { hasPrefix, newId } from './ids.js';
import { nowIso } from './time.js';
import { createMetadata, isObject, patchMetadata } from './validate.js';

/** An environment as the SDK declares it, with the fields Paddock always sets made required. */
export type Networking = BetaCloudConfig['networking'];

export interface Packages extends BetaPackages {
  type: 'packages';
}

export interface CloudConfig extends BetaCloudConfig {
  packages: Packages;
}

export type EnvironmentConfig = CloudConfig | BetaSelfHostedConfig;

export interface Environment extends BetaEnvironment {
  config: EnvironmentConfig;
  scope: 'organization' | 'account';
}

const PACKAGE_MANAGERS = ['apt', 'cargo', 'gem', 'go', 'npm', 'pip'] as const;
const HOST_RE = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$/;

function bool(v: unknown, field: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalid(`${field}: must be a boolean`);
  return v;
}

function networking(v: unknown, current?: Networking): Networking {
  if (v === undefined || v === null) return current ?? { type: 'unrestricted' };
  if (!isObject(v)) throw invalid('config.networking: must be an object');
  if (v.type === 'unrestricted') return { type: 'unrestricted' };
  if (v.type !== 'limited') throw invalid('config.networking.type: must be unrestricted or limited');
  const hosts = v.allowed_hosts ?? [];
  if (!Array.isArray(hosts) || hosts.length > 256) throw invalid('config.networking.allowed_hosts: must be a list of at most 256 hosts');
  const allowed_hosts = hosts.map((h, i) => {
    if (typeof h !== 'string' || !HOST_RE.test(h)) throw invalid(`config.networking.allowed_hosts.${i}: must be a host name, IP address or *.wildcard`);
    return h;
  });
  return {
    type: 'limited',
    allowed_hosts,
    allow_mcp_servers: bool(v.allow_mcp_servers, 'config.networking.allow_mcp_servers', false),
    allow_package_managers: bool(v.allow_package_managers, 'config.networking.allow_package_managers', false),
  };
}

function packages(v: unknown, current?: Packages): Packages {
  const base: Packages = current ?? { type: 'packages', apt: [], cargo: [], gem: [], go: [], npm: [], pip: [] };
  if (v === undefined || v === null) return base;
  if (!isObject(v)) throw invalid('config.packages: must be an object');
  if (v.type !== undefined && v.type !== 'packages') throw invalid('config.packages.type: must be "packages"');
  const out: Packages = { ...base };
  for (const m of PACKAGE_MANAGERS) {
    const list = v[m];
    if (list === undefined) continue;
    if (list === null) {
      out[m] = [];
      continue;
    }
    if (!Array.isArray(list) || list.length > 500) throw invalid(`config.packages.${m}: must be a list of at most 500 package names`);
    out[m] = list.map((p, i) => str(p, `config.packages.${m}.${i}`, { min: 1, max: 256 }));
  }
  return out;
}

function config(v: unknown, current?: EnvironmentConfig): EnvironmentConfig {
  if (v === undefined || v === null) {
    return current ?? { type: 'cloud', networking: { type: 'unrestricted' }, packages: packages(undefined) };
  }
  if (!isObject(v)) throw invalid('config: must be an object');
  if (v.type !== 'cloud' && v.type !== 'self_hosted') throw invalid('config.type: must be cloud or self_hosted');
  if (current && current.type !== v.type) {
    throw new ApiError(400, 'invalid_request_error', `config.type cannot change from ${current.type} to ${v.type}`, {
      error_code: 'invalid_config_type_change',
    });
  }
  if (v.type === 'self_hosted') return { type: 'self_hosted' };
  const cur = current?.type === 'cloud' ? current : undefined;
  const out = { type: 'cloud' as const, networking: networking(v.networking, cur?.networking), packages: packages(v.packages, cur?.packages) };
  const anyPackages = PACKAGE_MANAGERS.some((m) => out.packages[m].length > 0);
  if (out.networking.type === 'limited' && anyPackages && !out.networking.allow_package_managers) {
    throw invalid('config.packages: limited networking must set allow_package_managers: true to install packages');
  }
  return out;
}

function scope(v: unknown, current: Environment['scope'] = 'organization'): Environment['scope'] {
  if (v === undefined || v === null) return current;
  if (v !== 'organization' && v !== 'account') throw invalid('scope: must be organization or account');
  return v;
}

function asBody(v: unknown): Record<string, unknown> {
  if (!isObject(v)) throw invalid('body: must be a JSON object');
  return v;
}

export class Environments {
  constructor(private readonly db: Kysely<Database>) {}


  async create(input: unknown): Promise<Environment> {
    const b = asBody(input);
    const now = nowIso();
    const env: Environment = {
      type: 'environment',
      id: newId('environment'),
      name: str(b.name, 'name', { min: 1, max: 256 }),
      description: optStr(b.description, 'description', 2048),
      metadata: createMetadata(b.metadata),
      config: config(b.config),
      scope: scope(b.scope),
      created_at: now,
      updated_at: now,
      archived_at: null,
    } satisfies BetaEnvironment;
    await this.db
      .insertInto('environments')
      .values({ id: env.id, name: env.name, created_at: now, updated_at: now, archived_at: null, data: JSON.stringify(env) })
      .execute()
      .catch(nameConflict(env.name));
    return env;
  }

  async get(id: string): Promise<Environment> {
    if (!hasPrefix(id, 'environment')) throw notFound('Environment', id);
    const row = await this.db.selectFrom('environments').select('data').where('id', '=', id).executeTakeFirst();
    if (!row) throw new ApiError(404, 'not_found_error', `Environment not found: ${id}`, { error_code: 'environment_not_found' });
    return readJson<Environment>(row.data);
  }

  async update(id: string, input: unknown): Promise<Environment> {
    const b = asBody(input);
    const cur = await this.get(id);
    if (cur.archived_at) {
      throw new ApiError(400, 'invalid_request_error', `Environment ${id} is archived`, { error_code: 'environment_archived' });
    }
    const next: Environment = { ...cur };
    if (b.name !== undefined && b.name !== null) next.name = str(b.name, 'name', { min: 1, max: 256 });
    if (b.description !== undefined) next.description = b.description === null ? null : str(b.description, 'description', { max: 2048 });
    if (b.config !== undefined) next.config = config(b.config, cur.config);
    if (b.metadata !== undefined) next.metadata = patchMetadata(cur.metadata, b.metadata, { emptyDeletes: true });
    if (b.scope !== undefined) next.scope = scope(b.scope, cur.scope);
    next.updated_at = nowIso();
    await this.db
      .updateTable('environments')
      .set({ name: next.name, updated_at: next.updated_at, data: JSON.stringify(next) })
      .where('id', '=', id)
      .execute()
      .catch(nameConflict(next.name));
    return next;
  }

  async archive(id: string): Promise<Environment> {
    const cur = await this.get(id);
    if (cur.archived_at) return cur;
    const now = nowIso();
    const next = { ...cur, archived_at: now, updated_at: now };
    await this.db.updateTable('environments').set({ archived_at: now, updated_at: now, data: JSON.stringify(next) }).where('id', '=', id).execute();
    return next;
  }

  async delete(id: string): Promise<BetaEnvironmentDeleteResponse> {
    await this.get(id);
    // As the API documents: an environment can be deleted only when no session references it
    // (archived ones included), so no session is left pointing at nothing.
    const inUse = await this.db.selectFrom('sessions').select('id').where('environment_id', '=', id).executeTakeFirst();
    if (inUse) {
      throw new ApiError(409, 'conflict_error', `Environment ${id} is referenced by sessions (e.g. ${inUse.id}); delete them first, or archive the environment instead`);
    }
    await this.db.deleteFrom('environments').where('id', '=', id).execute();
    return { id, type: 'environment_deleted' };
  }

  async list(q: { includeArchived: boolean; after?: string; before?: string; direction: 'asc' | 'desc'; limit: number }): Promise<Environment[]> {
    let query = this.db.selectFrom('environments').select('data');
    if (!q.includeArchived) query = query.where('archived_at', 'is', null);
    const rows = await keyset(query, 'id', q).execute();
    return rows.map((r) => readJson<Environment>(r.data));
  }
}

/** The unique index on active names refused the write: the name is taken. */
function nameConflict(name: string) {
  return (err: unknown): never => {
    if (isUniqueViolation(err)) throw new ApiError(409, 'conflict_error', `An environment named "${name}" already exists`);
    throw err;
  };
}
