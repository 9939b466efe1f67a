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
import type { Static } from '@sinclair/typebox';
import type { EnvironmentCreate, EnvironmentUpdate } from '../http/schemas/environments.js';
import { ApiError, invalid, notFound } from './errors.js';
import { hasPrefix, newId } from './ids.js';
import { emptyPackages, hasPackages, PACKAGE_MANAGERS } from './packages.js';
import { nowIso } from './time.js';
import { createMetadata, patchMetadata } from './validate.js';

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

export { PACKAGE_MANAGERS };

/** Request bodies, as checked at the route edge (src/http/schemas/environments.ts). */
export type EnvironmentCreateInput = Static<typeof EnvironmentCreate>;
export type EnvironmentUpdateInput = Static<typeof EnvironmentUpdate>;
type ConfigInput = NonNullable<EnvironmentCreateInput['config']>;
type CloudInput = Extract<ConfigInput, { type: 'cloud' }>;

function networking(v: CloudInput['networking'], current?: Networking): Networking {
  if (v === undefined || v === null) return current ?? { type: 'unrestricted' };
  if (v.type === 'unrestricted') return { type: 'unrestricted' };
  return {
    type: 'limited',
    allowed_hosts: v.allowed_hosts ?? [],
    allow_mcp_servers: v.allow_mcp_servers ?? false,
    allow_package_managers: v.allow_package_managers ?? false,
  };
}

function packages(v: CloudInput['packages'], current?: Packages): Packages {
  const base: Packages = current ?? emptyPackages();
  if (v === undefined || v === null) return base;
  const out: Packages = { ...base };
  for (const m of PACKAGE_MANAGERS) {
    const list = v[m];
    if (list !== undefined) out[m] = list ?? [];
  }
  return out;
}

function config(v: ConfigInput | null | undefined, current?: EnvironmentConfig): EnvironmentConfig {
  if (v === undefined || v === null) {
    return current ?? { type: 'cloud', networking: { type: 'unrestricted' }, packages: packages(undefined) };
  }
  if (current && current.type !== v.type) {
    throw new ApiError(400, 'invalid_request_error', `config.type cannot change from ${current.type} to ${v.type}`, {
      error_code: 'invalid_config_type_change',
    });
  }
  if (v.type === 'self_hosted') return { type: 'self_hosted' };
  const cur = current?.type === 'cloud' ? current : undefined;
  const out = { type: 'cloud' as const, networking: networking(v.networking, cur?.networking), packages: packages(v.packages, cur?.packages) };
  if (out.networking.type === 'limited' && hasPackages(out.packages) && !out.networking.allow_package_managers) {
    throw invalid('config.packages: limited networking must set allow_package_managers: true to install packages');
  }
  return out;
}

export class Environments {
  constructor(private readonly db: Kysely<Database>) {}

  async create(b: EnvironmentCreateInput): Promise<Environment> {
    const now = nowIso();
    const env: Environment = {
      type: 'environment',
      id: newId('environment'),
      name: b.name,
      description: b.description ?? null,
      metadata: createMetadata(b.metadata),
      config: config(b.config),
      scope: b.scope ?? 'organization',
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

  async update(id: string, b: EnvironmentUpdateInput): Promise<Environment> {
    const cur = await this.get(id);
    if (cur.archived_at) {
      throw new ApiError(400, 'invalid_request_error', `Environment ${id} is archived`, { error_code: 'environment_archived' });
    }
    const next: Environment = { ...cur };
    if (b.name !== undefined && b.name !== null) next.name = b.name;
    if (b.description !== undefined) next.description = b.description;
    if (b.config !== undefined) next.config = config(b.config, cur.config);
    if (b.metadata !== undefined) next.metadata = patchMetadata(cur.metadata, b.metadata, { emptyDeletes: true });
    if (b.scope !== undefined && b.scope !== null) next.scope = b.scope;
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
    await this.db
      .updateTable('environments')
      .set({ archived_at: now, updated_at: now, data: JSON.stringify(next) })
      .where('id', '=', id)
      .execute();
    return next;
  }

  async delete(id: string): Promise<BetaEnvironmentDeleteResponse> {
    await this.get(id);
    // As the API documents: an environment can be deleted only when no session references it
    // (archived ones included), so no session is left pointing at nothing.
    const inUse = await this.db.selectFrom('sessions').select('id').where('environment_id', '=', id).executeTakeFirst();
    if (inUse) {
      throw new ApiError(
        409,
        'conflict_error',
        `Environment ${id} is referenced by sessions (e.g. ${inUse.id}); delete them first, or archive the environment instead`,
      );
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
