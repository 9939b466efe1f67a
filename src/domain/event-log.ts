import type { Kysely } from 'kysely';
import type { SessionBus } from '../fanout/bus.js';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import { newId } from './ids.js';
import { nowIso } from './time.js';
import type { NewEvent, SessionEvent, SessionEventType } from './wire-events.js';

export type { NewEvent, SessionEvent } from './wire-events.js';

/** A persisted session event: the wire object, plus its place in the log. */
export interface StoredEvent {
  seq: number;
  event: SessionEvent;
}

/** Status events and the session status they leave behind. */
const STATUS_OF: Partial<Record<SessionEventType, string>> = {
  'session.status_running': 'running',
  'session.status_idle': 'idle',
  'session.status_rescheduled': 'rescheduling',
  'session.status_terminated': 'terminated',
};

/** Rolls back a repeated deduplicated append (its sequence numbers must not be spent). */
class AlreadyAppended extends Error {
  constructor(readonly events: SessionEvent[]) {
    super('already appended');
  }
}

export interface ListEventsQuery {
  limit: number;
  order: 'asc' | 'desc';
  afterSeq?: number;
  beforeSeq?: number;
  types?: string[];
  processedAfter?: { op: '>' | '>='; value: string };
  processedBefore?: { op: '<' | '<='; value: string };
  threadId?: string | null;
}

/**
 * The append-only, per-session event log. Every event gets a strictly increasing `seq`, is
 * committed, and only then announced on the bus — so a subscriber that reads the log after a
 * notification never misses an event and never sees one twice.
 */
export class EventLog {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly bus: SessionBus,
  ) {}

  /**
   * Appends events atomically. With a `dedupeKey`, a repeat of the same append (after a crash or
   * a retry) returns the events written the first time and writes nothing.
   */
  async append(sessionId: string, events: NewEvent[], opts: { dedupeKey?: string; threadId?: string } = {}): Promise<SessionEvent[]> {
    if (events.length === 0) return [];
    const result = await this.db
      .transaction()
      .execute(async (trx) => {
        // Allocating the sequence numbers first takes the session row's write lock, so that two
        // nodes making the same deduplicated append cannot both pass the check below (Postgres), and
        // the transaction starts as a writer (SQLite: waits for a busy writer instead of failing).
        const now = nowIso();
        const statusEvent = [...events].reverse().find((e) => STATUS_OF[e.type]);
        const row = await trx
          .updateTable('sessions')
          .set((eb) => ({
            last_seq: eb('last_seq', '+', events.length),
            updated_at: now,
            ...(statusEvent ? { status: STATUS_OF[statusEvent.type] } : {}),
          }))
          .where('id', '=', sessionId)
          .returning('last_seq')
          .executeTakeFirst();
        if (!row) throw new Error(`append to unknown session ${sessionId}`);
        if (opts.dedupeKey) {
          // An append's first event is always `<key>#0`: an exact index lookup, where a LIKE over the
          // key would scan every event of the session on each append.
          const first = await trx
            .selectFrom('events')
            .select('seq')
            .where('session_id', '=', sessionId)
            .where('dedupe_key', '=', `${opts.dedupeKey}#0`)
            .executeTakeFirst();
          if (first) {
            const existing = await trx
              .selectFrom('events')
              .select(['seq', 'data'])
              .where('session_id', '=', sessionId)
              .where('dedupe_key', 'like', `${opts.dedupeKey}#%`)
              .orderBy('seq')
              .execute();
            throw new AlreadyAppended(existing.map((r) => readJson<SessionEvent>(r.data)));
          }
        }
        const first = Number(row.last_seq) - events.length + 1;
        // `type` leads and `id` follows, as events have always been written (a writer's own id wins).
        const stored: SessionEvent[] = events.map((e) => ({ ...{ type: e.type, id: newId('event') }, ...e, processed_at: now }));
        await trx
          .insertInto('events')
          .values(
            stored.map((e, i) => ({
              session_id: sessionId,
              seq: first + i,
              id: e.id,
              type: e.type,
              thread_id: threadOf(e) ?? opts.threadId ?? null,
              processed_at: e.processed_at,
              dedupe_key: opts.dedupeKey ? `${opts.dedupeKey}#${i}` : null,
              data: JSON.stringify(e),
            })),
          )
          .execute();
        return { events: stored, lastSeq: first + events.length - 1 };
      })
      .catch((err: unknown) => {
        if (err instanceof AlreadyAppended) return { events: err.events, lastSeq: 0 };
        throw err;
      });
    if (result.lastSeq > 0) this.bus.appended(sessionId, result.lastSeq);
    return result.events;
  }

  async list(sessionId: string, q: ListEventsQuery): Promise<StoredEvent[]> {
    let query = this.db.selectFrom('events').select(['seq', 'data']).where('session_id', '=', sessionId);
    if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq);
    if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq);
    if (q.types && q.types.length > 0) query = query.where('type', 'in', q.types);
    if (q.processedAfter) query = query.where('processed_at', q.processedAfter.op, q.processedAfter.value);
    if (q.processedBefore) query = query.where('processed_at', q.processedBefore.op, q.processedBefore.value);
    if (q.threadId !== undefined) query = q.threadId === null ? query.where('thread_id', 'is', null) : query.where('thread_id', '=', q.threadId);
    const rows = await query.orderBy('seq', q.order).limit(q.limit).execute();
    return rows.map((r) => ({ seq: Number(r.seq), event: readJson<SessionEvent>(r.data) }));
  }

  /** Events after `seq`, oldest first: what a subscriber has not seen yet. */
  after(sessionId: string, seq: number, limit = 500): Promise<StoredEvent[]> {
    return this.list(sessionId, { afterSeq: seq, order: 'asc', limit });
  }

  async lastSeq(sessionId: string): Promise<number> {
    const row = await this.db.selectFrom('sessions').select('last_seq').where('id', '=', sessionId).executeTakeFirst();
    return row ? Number(row.last_seq) : 0;
  }

  async seqOf(sessionId: string, eventId: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('events').select('seq').where('session_id', '=', sessionId).where('id', '=', eventId).executeTakeFirst();
    return row ? Number(row.seq) : undefined;
  }

  async all(sessionId: string): Promise<StoredEvent[]> {
    return this.list(sessionId, { order: 'asc', limit: Number.MAX_SAFE_INTEGER });
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.db.deleteFrom('events').where('session_id', '=', sessionId).execute();
  }
}

/** The thread an event names, if it names one. */
function threadOf(e: SessionEvent): string | undefined {
  return 'session_thread_id' in e && typeof e.session_thread_id === 'string' ? e.session_thread_id : undefined;
}
