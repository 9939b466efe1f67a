import { codeOf, messageOf } from '../error-info.js';

/** True when a unique index refused a write, on SQLite or Postgres. */
export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(err === undefined ? '' : messageOf(err));
}

/** Why storage failed, when the failure passes by itself: the disk is full, or the database is out of reach for now. */
export type StorageTrouble = 'full' | 'unavailable';

/** SQLite result codes (better-sqlite3's `code`) of failures that pass: busy or locked, out of memory, I/O. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|NOMEM|PROTOCOL)/;
/**
 * Postgres SQLSTATEs of the same kind: connection exceptions (08), insufficient resources (53),
 * the server shutting down or starting (57P01-03), serialization failures and deadlocks (40001,
 * 40P01), system and I/O errors (58000, 58030).
 */
const POSTGRES_UNAVAILABLE = /^(08...|53...|57P0[123]|40001|40P01|58000|58030)$/;
/** Socket errors on the way to a database server. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** What node-postgres throws, without a code, for a connection that went away or never came. */
const PG_CONNECTION_LOST = /^Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/;

/**
 * Sorts a storage failure: a full disk (SQLite's SQLITE_FULL, Postgres' disk_full, ENOSPC from
 * the blob store) or an unavailable database (busy, restarting, unreachable) pass by themselves,
 * so whoever met them retries later; anything else is not storage trouble (undefined).
 */
export function storageTrouble(err: unknown): StorageTrouble | undefined {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || code === 'EDQUOT') return 'full';
  if (SQLITE_UNAVAILABLE.test(code) || POSTGRES_UNAVAILABLE.test(code) || NETWORK.has(code)) return 'unavailable';
  if (!code && typeof e?.message === 'string' && PG_CONNECTION_LOST.test(e.message)) return 'unavailable';
  return undefined;
}
