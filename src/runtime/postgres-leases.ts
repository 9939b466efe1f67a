import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../store/schema.js';
import type { SessionLeases } from './leases.js';

declare module '../store/schema.js' {
  interface Database {
    session_leases: SessionLeaseTable;
  }
}

export interface SessionLeaseTable {
  session_id: string;
  node_id: string;
  /** Epoch milliseconds on the database's clock. */
  expires_at: number;
}

/** The database's clock in epoch ms: every node judges expiry by the same clock. */
export const dbNowMs: RawBuilder<number> = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * Leases as rows with an expiry, for many nodes on one Postgres. Each call is one short
 * statement — no row lock is held between calls, so a node that dies holds nothing but a row that
 * runs out. Taking a lease is a conditional upsert: it inserts, or overwrites a row whose expiry
 * has passed; when two nodes race, Postgres lets exactly one of them change the row.
 */
export class PostgresLeases implements SessionLeases {
  constructor(
    private readonly db: Kysely<Database>,
    readonly nodeId: string,
    /** How long a lease lasts without renewal; the runtime renews well within it. */
    private readonly ttlMs: number,
  ) {}

  private expiry(): RawBuilder<number> {
    return sql<number>`${dbNowMs} + ${this.ttlMs}`;
  }

  async tryAcquire(sessionId: string): Promise<boolean> {
    const row = await this.db
      .insertInto('session_leases')
      .values({ session_id: sessionId, node_id: this.nodeId, expires_at: this.expiry() })
      .onConflict((oc) =>
        oc.column('session_id').doUpdateSet({ node_id: this.nodeId, expires_at: this.expiry() }).where('session_leases.expires_at', '<', dbNowMs),
      )
      .returning('node_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async renew(sessionId: string): Promise<boolean> {
    const row = await this.db
      .updateTable('session_leases')
      .set({ expires_at: this.expiry() })
      .where('session_id', '=', sessionId)
      .where('node_id', '=', this.nodeId)
      .returning('session_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async release(sessionId: string): Promise<void> {
    await this.db.deleteFrom('session_leases').where('session_id', '=', sessionId).where('node_id', '=', this.nodeId).execute();
  }
}
