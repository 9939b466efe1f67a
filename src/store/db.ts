import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';
import { postgresPool, useByteOrder } from './postgres.js';
import { SqliteDialectKeepingErrors } from './sqlite-dialect.js';
import { withStatementCache } from './sqlite-statements.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

/**
 * Opens the store: Postgres when `databaseUrl` is a postgres:// URL, otherwise SQLite in WAL mode
 * at `sqlitePath`. Runs pending migrations before returning.
 */
export async function openStore(opts: { databaseUrl?: string; sqlitePath: string }): Promise<Store> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  if (opts.databaseUrl && /^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
    dialect = 'postgres';
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(opts.databaseUrl) }) });
  } else {
    dialect = 'sqlite';
    await fs.mkdir(path.dirname(opts.sqlitePath), { recursive: true });
    const sqlite = new SQLite(opts.sqlitePath);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialectKeepingErrors({ database: withStatementCache(sqlite) }, sqlite) });
  }
  await migrate(db);
  if (dialect === 'postgres') await useByteOrder(db);
  return { db, dialect, close: () => db.destroy() };
}

/**
 * Every file in `migrations/`, by filename order. Unlike Kysely's FileMigrationProvider, the
 * import happens here, so that a test runner that compiles TypeScript on the fly loads them too.
 */
const migrationFiles: MigrationProvider = {
  async getMigrations() {
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
    const files = (await fs.readdir(dir)).filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts')).sort();
    const migrations: Record<string, Migration> = {};
    for (const f of files) migrations[f.replace(/\.(js|ts)$/, '')] = (await import(pathToFileURL(path.join(dir, f)).href)) as Migration;
    return migrations;
  },
};

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationFiles });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`);
  }
}
