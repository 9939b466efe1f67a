import type { Kysely } from 'kysely';

/**
 * What the runtime must remember beside the wire events: the model's raw assistant turns (with
 * thinking signatures the wire events do not carry), compaction summaries, and which tool calls
 * were started. Keyed by the event they belong to, so they can be re-derived with the log.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('runtime_records')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('runtime_records_pk', ['session_id', 'key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('runtime_records').execute();
}
