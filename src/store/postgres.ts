import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

/**
 * Postgres specifics of the one query layer, kept here so that queries and migrations stay
 * dialect-neutral.
 */

/** Integers come back as numbers, as they do from SQLite (pg returns int8 as strings by default). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * Connection settings of every client (the pool's and the bus's listening connection). A
 * connection attempt gives up after 10 s, and TCP keep-alives find a server that vanished without
 * closing its connections: a database that stops answering is storage trouble the callers retry
 * (or answer 503 for), not a wait without end that piles up requests behind it.
 */
export function postgresClientConfig(connectionString: string): pg.ClientConfig {
  return { connectionString, types, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 };
}

export function postgresPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ ...postgresClientConfig(connectionString), max });
  // A connection the server drops (a restart, a failover, an administrator) emits 'error' on its
  // client, and an 'error' nobody listens for crashes the process. The pool listens only while a
  // client is idle; a client checked out by a query or a transaction gets a listener of its own
  // for life. Nothing is lost by ignoring the event: the query running on that connection fails
  // by itself (its caller answers 503 or retries, docs/runtime.md), and the pool discards the
  // broken client when it comes back.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Kysely's own bookkeeping tables: not ours to change. */
const MIGRATION_TABLES = /^kysely_migration/;

/**
 * Makes every text column compare bytewise (`COLLATE "C"`), as SQLite's BINARY does. Ids are
 * base62 with mixed case and sort in creation order only as bytes; a database created with a
 * linguistic collation (en_US, ICU) would page lists in the wrong order. Running after the
 * migrations covers every feature's tables without each migration having to remember it; a
 * column that is already "C" is left alone, so this is a no-op after the first start.
 */
export async function useByteOrder(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // Several nodes may start at once: one of them rewrites, the others then find nothing to do.
    await sql`select pg_advisory_xact_lock(hashtext('paddock:byte-order'))`.execute(trx);
    const { rows } = await sql<{ table_name: string; column_name: string; type: string }>`
      select c.relname as table_name, a.attname as column_name, format_type(a.atttypid, a.atttypmod) as type
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      where c.relnamespace = current_schema()::regnamespace
        and c.relkind in ('r', 'p')
        and a.attnum > 0 and not a.attisdropped
        and a.atttypid in ('text'::regtype, 'varchar'::regtype)
        and a.attcollation <> 'pg_catalog."C"'::regcollation
      order by c.relname, a.attnum`.execute(trx);
    const byTable = new Map<string, Array<{ column: string; type: string }>>();
    for (const r of rows) {
      if (MIGRATION_TABLES.test(r.table_name)) continue;
      byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), { column: r.column_name, type: r.type }]);
    }
    for (const [table, columns] of byTable) {
      const alters = columns.map((c) => sql`alter column ${sql.ref(c.column)} type ${sql.raw(c.type)} collate "C"`);
      await sql`alter table ${sql.table(table)} ${sql.join(alters)}`.execute(trx);
    }
  });
}
