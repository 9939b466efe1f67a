import type { EventLog } from '../domain/event-log.js';
import { SessionFold, type SessionState } from './derive.js';
import type { RuntimeRecords } from './records.js';

const PAGE = 1000;
/** Folds kept for sessions this node drove recently; the least recently used go first. */
const DEFAULT_CAPACITY = 256;

/**
 * The derived state of the sessions this node drives, kept in memory so that a step folds only
 * the events appended since the previous one instead of the whole log.
 *
 * It is an optimisation, never a source of truth: every `current()` first reads the log after
 * the last folded seq, and the log is append-only with seqs that become visible in order, so a
 * cached fold plus the events after it is exactly the fold of the whole log, whoever appended
 * them. Anything that might leave a fold half-applied or its records in doubt (a lost lease, a
 * failed step, archive/delete) drops it, and the next `current()` rebuilds from the log.
 */
export class SessionStates {
  private readonly folds = new Map<string, SessionFold>();

  constructor(
    private readonly events: EventLog,
    private readonly records: RuntimeRecords,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /** The session's state as of its newest event. */
  async current(sessionId: string): Promise<SessionState> {
    return (await this.fold(sessionId)).state();
  }

  private async fold(sessionId: string): Promise<SessionFold> {
    // Taken out while it is brought up to date: if reading fails part-way, nothing of it is kept.
    const fold = this.folds.get(sessionId) ?? new SessionFold();
    this.folds.delete(sessionId);
    for (;;) {
      const batch = await this.events.after(sessionId, fold.seq, PAGE);
      if (batch.length === 0) break;
      fold.apply(batch, await this.records.get(sessionId, SessionFold.recordKeys(batch)));
      if (batch.length < PAGE) break;
    }
    this.folds.set(sessionId, fold);
    while (this.folds.size > this.capacity) this.folds.delete(this.folds.keys().next().value!);
    return fold;
  }

  forget(sessionId: string): void {
    this.folds.delete(sessionId);
  }

  get size(): number {
    return this.folds.size;
  }
}
