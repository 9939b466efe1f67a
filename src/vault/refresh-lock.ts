import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { dbNowMs } from '../runtime/postgres-leases.js';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';

declare module '../store/schema.js' {
  interface Database {
    credential_refresh_locks: CredentialRefreshLockTable;
  }
}

export interface CredentialRefreshLockTable {
  credential_id: string;
  holder: string;
  /** Epoch milliseconds (the database's clock on Postgres). */
  expires_at: number;
}

/**
 * One refresh of a credential at a time, across every process on the database. A lock is a row
 * taken by a conditional upsert (inserted, or overwritten once expired), so of two racing
 * claims exactly one changes the row; nothing is held between statements, and a holder that dies
 * frees the credential when its row expires. Not a transaction around the token request: on
 * SQLite that would stall every writer for as long as the token endpoint takes.
 */
export class RefreshLocks {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    /** Longer than a refresh can take (the grant's own deadline is 10 s). */
    private readonly ttlMs = 30_000,
    private readonly pollMs = 100,
  ) {}

  private now(): RawBuilder<number> {
    return this.dialect === 'postgres' ? dbNowMs : sql<number>`${Date.now()}`;
  }

  /** Takes the credential's lock; the holder id to release it with, or undefined when another holds it. */
  async claim(credentialId: string): Promise<string | undefined> {
    const holder = randomBytes(12).toString('base64url');
    const expires = sql<number>`${this.now()} + ${this.ttlMs}`;
    const row = await this.db
      .insertInto('credential_refresh_locks')
      .values({ credential_id: credentialId, holder, expires_at: expires })
      .onConflict((oc) => oc.column('credential_id').doUpdateSet({ holder, expires_at: expires }).where('credential_refresh_locks.expires_at', '<', this.now()))
      .returning('holder')
      .executeTakeFirst();
    return row?.holder === holder ? holder : undefined;
  }

  async release(credentialId: string, holder: string): Promise<void> {
    await this.db.deleteFrom('credential_refresh_locks').where('credential_id', '=', credentialId).where('holder', '=', holder).execute();
  }

  /** Waits (polling, until `deadline`) for the current holder to let go or run out. */
  async waitFree(credentialId: string, deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const held = await this.db
        .selectFrom('credential_refresh_locks')
        .select('holder')
        .where('credential_id', '=', credentialId)
        .where('expires_at', '>=', this.now())
        .executeTakeFirst();
      if (!held) return;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}
