import type { EventLog } from '../domain/event-log.js';
import { SessionFold, type SessionState } from './derive.js';
import type { RuntimeRecords } from './records.js';

const PAGE = 1000;

/**
 * The derived state of sessions, kept in memory so that a step folds only the events appended
 * since the previous one instead of the whole log. A session being driven holds its fold for the
 * length of the drive (`checkout` … `checkin`); between drives the folds of the most recently
 * driven sessions wait here, at most `idleCapacity` of them, least recently used dropped first.
 *
 * It is an optimisation, never a source of truth: every `current()` first reads the log after
 * the last folded seq, and the log is append-only with seqs that become visible in order, so a
 * kept fold plus the events after it is exactly the fold of the whole log, whoever appended
 * them. A fold that may be in doubt (a lost lease, a failed step, archive/delete) is not checked
 * back in, and the session's next drive rebuilds it from the log.
 */
export class SessionStates {
  private readonly idle = new Map<string, SessionFold>();

  constructor(
    private readonly events: EventLog,
    private readonly records: RuntimeRecords,
    private readonly idleCapacity: number,
  ) {}

  /** The session's kept fold, or a fresh one, for a drive. */
  checkout(sessionId: string): SessionFold {
    const fold = this.idle.get(sessionId) ?? new SessionFold();
    this.idle.delete(sessionId);
    return fold;
  }

  /** Brings the fold up to date with the log and answers the session's state. */
  async current(sessionId: string, fold: SessionFold): Promise<SessionState> {
    for (;;) {
      const batch = await this.events.after(sessionId, fold.seq, PAGE);
      if (batch.length === 0) break;
      fold.apply(batch, await this.records.get(sessionId, SessionFold.recordKeys(batch)));
      if (batch.length < PAGE) break;
    }
    return fold.state();
  }

  /** The drive is over and the fold sound: keep it for the session's next drive. */
  checkin(sessionId: string, fold: SessionFold): void {
    this.idle.delete(sessionId);
    this.idle.set(sessionId, fold);
    while (this.idle.size > this.idleCapacity) this.idle.delete(this.idle.keys().next().value!);
  }

  forget(sessionId: string): void {
    this.idle.delete(sessionId);
  }
}
