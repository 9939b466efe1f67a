import { storageTrouble } from '../store/errors.js';

/**
 * When to try a session's failed step again. A step that failed on storage trouble (a full disk,
 * a database restarting or out of reach) is tried again with exponential backoff, jittered and
 * capped, for as long as it takes: the trouble passes, and the session must not stay `running`
 * with nobody driving it. The count starts over once a drive of the session succeeds.
 */
export class StepRetries {
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly opts: { baseMs: number; maxMs: number }) {}

  /** True for failures that pass by themselves, so the step is retried until it succeeds. */
  static transient(err: unknown): boolean {
    return storageTrouble(err) !== undefined;
  }

  /** The wait before the next attempt of a session that has failed `attempt` times in a row. */
  delay(attempt: number): number {
    const capped = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(attempt, 30));
    return capped * (0.5 + Math.random() / 2);
  }

  /** Schedules `retry` after the session's next backoff; answers the wait. A retry already scheduled stands. */
  schedule(sessionId: string, retry: () => void): number {
    const attempt = this.attempts.get(sessionId) ?? 0;
    this.attempts.set(sessionId, attempt + 1);
    const ms = this.delay(attempt);
    if (this.closed || this.timers.has(sessionId)) return ms;
    const timer = setTimeout(() => {
      this.timers.delete(sessionId);
      retry();
    }, ms);
    timer.unref();
    this.timers.set(sessionId, timer);
    return ms;
  }

  /** True while the session is between a transient failure and a drive that succeeds. */
  pending(sessionId: string): boolean {
    return this.attempts.has(sessionId);
  }

  succeeded(sessionId: string): void {
    this.attempts.delete(sessionId);
  }

  forget(sessionId: string): void {
    this.attempts.delete(sessionId);
    clearTimeout(this.timers.get(sessionId));
    this.timers.delete(sessionId);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
