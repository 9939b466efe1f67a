import type SQLite from 'better-sqlite3';
import { SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';

/**
 * Kysely's SQLite dialect, with one change: a transaction that SQLite has already rolled back by
 * itself (it does on SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY during a commit, …) is not rolled
 * back a second time. Kysely would send ROLLBACK anyway, which fails with "cannot rollback – no
 * transaction is active", and that error would replace the one that says what went wrong.
 */
export class SqliteDialectKeepingErrors extends SqliteDialect {
  constructor(
    private readonly config: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const sqlite = this.sqlite;
    return new (class extends SqliteDriver {
      override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
        if (sqlite.inTransaction) await super.rollbackTransaction(connection);
      }
    })(this.config);
  }
}
