import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * better-sqlite3 behind Kysely, with its prepared statements kept: Kysely prepares every query
 * afresh, which costs more than running most of Paddock's small indexed queries. Queries are
 * built by Kysely from a fixed set of shapes, so a bounded map by SQL text keeps nearly all of
 * them. A statement still being iterated is never handed out twice.
 */
export function withStatementCache(db: SQLite.Database, max = 1000): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) return cached;
      const stmt = db.prepare(sql);
      if (!cached) {
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  } as SqliteDatabase;
}
