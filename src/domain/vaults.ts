import type { BetaManagedAgentsDeletedVault, BetaManagedAgentsVault } from '@anthropic-ai/sdk/resources/beta/vaults/vaults';
import { keyset } from '../store/keyset.js';
import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import type { Static } from '@sinclair/typebox';
import type { VaultCreate, VaultUpdate } from '../http/schemas/vaults.js';
import { ApiError, invalid, notFound } from './errors.js';
import { hasPrefix, newId } from './ids.js';
import { nowIso } from './time.js';
import { createMetadata, patchMetadata } from './validate.js';

export interface VaultsTable {
  id: string;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
  data: string;
}

declare module '../store/schema.js' {
  interface Database {
    vaults: VaultsTable;
  }
}

/** Vault on the wire (wire-contract §8), exactly as the SDK declares it. */
export type Vault = BetaManagedAgentsVault;

/** What archiving or deleting a vault does to its credentials; provided by the credentials module. */
export interface VaultCredentialHooks {
  archiveAll(vaultId: string): Promise<void>;
  deleteAll(vaultId: string): Promise<void>;
}

/** Request bodies, as checked at the route edge (src/http/schemas/vaults.ts). */
export type VaultCreateInput = Static<typeof VaultCreate>;
export type VaultUpdateInput = Static<typeof VaultUpdate>;

export class Vaults {
  credentialHooks: VaultCredentialHooks = { archiveAll: async () => {}, deleteAll: async () => {} };

  constructor(private readonly db: Kysely<Database>) {}

  async create(b: VaultCreateInput): Promise<Vault> {
    const now = nowIso();
    const vault: Vault = {
      type: 'vault',
      id: newId('vault'),
      display_name: b.display_name,
      metadata: createMetadata(b.metadata),
      created_at: now,
      updated_at: now,
      archived_at: null,
    };
    await this.db
      .insertInto('vaults')
      .values({ id: vault.id, created_at: now, updated_at: now, archived_at: null, data: JSON.stringify(vault) })
      .execute();
    return vault;
  }

  async get(id: string): Promise<Vault> {
    if (!hasPrefix(id, 'vault')) throw notFound('Vault', id);
    const row = await this.db.selectFrom('vaults').select('data').where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Vault', id);
    return readJson<Vault>(row.data);
  }

  /** A vault that credentials may be added to and sessions may use. */
  async getActive(id: string): Promise<Vault> {
    const v = await this.get(id);
    if (v.archived_at) throw invalid(`Vault ${id} is archived`);
    return v;
  }

  private async save(v: Vault): Promise<Vault> {
    await this.db
      .updateTable('vaults')
      .set({ updated_at: v.updated_at, archived_at: v.archived_at, data: JSON.stringify(v) })
      .where('id', '=', v.id)
      .execute();
    return v;
  }

  async update(id: string, b: VaultUpdateInput): Promise<Vault> {
    const cur = await this.get(id);
    if (cur.archived_at) throw new ApiError(400, 'invalid_request_error', `Vault ${id} is archived`);
    const next = { ...cur };
    // display_name is required on a vault, so null means "leave it".
    if (b.display_name !== undefined && b.display_name !== null) next.display_name = b.display_name;
    if (b.metadata !== undefined) next.metadata = patchMetadata(cur.metadata, b.metadata);
    next.updated_at = nowIso();
    return this.save(next);
  }

  /** Archiving is terminal and archives (and so purges) every credential in the vault. */
  async archive(id: string): Promise<Vault> {
    const cur = await this.get(id);
    if (cur.archived_at) return cur;
    await this.credentialHooks.archiveAll(id);
    const now = nowIso();
    return this.save({ ...cur, archived_at: now, updated_at: now });
  }

  async delete(id: string): Promise<BetaManagedAgentsDeletedVault> {
    await this.get(id);
    await this.credentialHooks.deleteAll(id);
    await this.db.deleteFrom('vaults').where('id', '=', id).execute();
    return { id, type: 'vault_deleted' };
  }

  async list(q: { includeArchived: boolean; after?: string; before?: string; direction: 'asc' | 'desc'; limit: number }): Promise<Vault[]> {
    let query = this.db.selectFrom('vaults').select('data');
    if (!q.includeArchived) query = query.where('archived_at', 'is', null);
    const rows = await keyset(query, 'id', q).execute();
    return rows.map((r) => readJson<Vault>(r.data));
  }

  /** Session create: every vault must exist and be live; the order is kept (first match wins). */
  async checkForSession(ids: string[]): Promise<void> {
    if (new Set(ids).size !== ids.length) throw invalid('vault_ids: must not repeat a vault');
    for (const [i, id] of ids.entries()) {
      const v = await this.get(id);
      if (v.archived_at) throw invalid(`vault_ids.${i}: vault ${id} is archived`);
    }
  }
}
