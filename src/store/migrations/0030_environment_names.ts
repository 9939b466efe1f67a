import { sql, type Kysely } from 'kysely';

/**
 * Environment names are unique among environments that are not archived. The index makes that
 * hold when two nodes (or two requests) create the same name at once; a check-then-insert alone
 * would let both through.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('environments_active_name').on('environments').column('name').unique().where(sql.ref('archived_at'), 'is', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('environments_active_name').execute();
}
