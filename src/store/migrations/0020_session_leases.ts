import type { Kysely } from 'kysely';

/**
 * Which node drives which session, when several share one database (src/runtime/postgres-leases.ts).
 * `expires_at` is milliseconds since the epoch on the database's clock, so that nodes with skewed
 * clocks still agree on when a lease ran out.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('session_leases')
    .addColumn('session_id', 'text', (c) => c.primaryKey())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('session_leases_expiry').on('session_leases').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('session_leases').execute();
}
