import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import { notFound } from './errors.js';
import { hasPrefix } from './ids.js';
import type { Session, SessionStatus } from './sessions.js';
import { nowIso } from './time.js';
import { isOneOf } from './validate.js';

const SESSION_STATUSES: readonly SessionStatus[] = ['idle', 'running', 'rescheduling', 'terminated'];

/** The stored session object with its row's live columns (status, times) laid over it. */
export function sessionFromRow(row: { data: string; status: string; updated_at: string; archived_at: string | null }): Session {
  const s = readJson<Session>(row.data);
  s.status = isOneOf(SESSION_STATUSES, row.status) ? row.status : s.status;
  s.updated_at = row.updated_at;
  s.archived_at = row.archived_at;
  s.stats.duration_seconds = Math.max(0, (Date.now() - Date.parse(s.created_at)) / 1000);
  return s;
}

/**
 * Reading and rewriting one stored session: what Sessions and the modules that keep parts of a
 * session (resources) share, without either needing the other to exist first.
 */
export class SessionRows {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<Session> {
    if (!hasPrefix(id, 'session')) throw notFound('Session', id);
    const row = await this.db.selectFrom('sessions').select(['data', 'status', 'updated_at', 'archived_at']).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Session', id);
    return sessionFromRow(row);
  }

  /**
   * Rewrites the stored session object; `fn` gets the current one and returns the next. Several
   * writers change different parts of it (the HTTP update, the runner's usage totals, resource
   * changes), on one node or many: the read, `fn` and the write happen in one transaction under
   * the session row's write lock, so none of them writes back a copy that misses another's change.
   * `fn` runs inside that transaction: anything it reads must go through `trx` (SQLite has one
   * connection, which the transaction holds; a query beside it would wait forever).
   */
  async patch(id: string, fn: (s: Session, trx: Kysely<Database>) => Session | Promise<Session>): Promise<Session> {
    if (!hasPrefix(id, 'session')) throw notFound('Session', id);
    return this.db.transaction().execute(async (trx) => {
      const now = nowIso();
      // Writing first takes the row lock before the read (Postgres), and starts the transaction
      // as a writer (SQLite), as EventLog.append does; a concurrent patch waits here.
      const row = await trx
        .updateTable('sessions')
        .set({ updated_at: now })
        .where('id', '=', id)
        .returning(['data', 'status', 'updated_at', 'archived_at'])
        .executeTakeFirst();
      if (!row) throw notFound('Session', id);
      const next = await fn(sessionFromRow(row), trx);
      next.updated_at = now;
      await trx
        .updateTable('sessions')
        .set({ data: JSON.stringify(next) })
        .where('id', '=', id)
        .execute();
      return { ...next, status: row.status as SessionStatus };
    });
  }
}
