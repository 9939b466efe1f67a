import type { Kysely } from 'kysely';

/**
 * Who is refreshing which OAuth credential right now (src/vault/refresh-lock.ts), so that
 * concurrent refreshes of one credential, on one node or many, send one request to the token
 * endpoint. A row lives for the length of one refresh; `expires_at` (epoch ms, the database's
 * clock on Postgres) frees it should its holder die mid-refresh.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('credential_refresh_locks')
    .addColumn('credential_id', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('credential_refresh_locks').execute();
}
