import type { AppContext } from '../context.js';
import { dbNowMs } from './postgres-leases.js';

/**
 * Finds sessions that need a driver and have none — their node died mid-turn and its lease ran
 * out, or input arrived just as the previous driver let go — and wakes them on this node. Every
 * node sweeps; the lease decides which one drives. Waking is harmless when nothing is owed.
 */
const RETRY_MS = 60_000;

export function startLeaseSweeper(ctx: AppContext, runtime: { wake(sessionId: string): void }, intervalMs: number): () => void {
  let running = false;
  // A session the runtime woke but found nothing to do for (its log unchanged) is not woken again
  // on every sweep, only now and then, in case the node that won it died before it could act.
  let recent = new Map<string, number>();
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const rows = await ctx.store.db
        .selectFrom('sessions')
        .innerJoin('events', (j) => j.onRef('events.session_id', '=', 'sessions.id').onRef('events.seq', '=', 'sessions.last_seq'))
        .select(['sessions.id as id', 'sessions.last_seq as last_seq'])
        .where('sessions.archived_at', 'is', null)
        // The same sessions start-up recovery resumes: mid-turn, or with input nobody picked up.
        .where((eb) =>
          eb.or([eb('sessions.status', 'in', ['running', 'rescheduling']), eb('events.type', 'like', 'user.%'), eb('events.type', '=', 'system.message')]),
        )
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('session_leases')
                .select('session_leases.session_id')
                .whereRef('session_leases.session_id', '=', 'sessions.id')
                .where('session_leases.expires_at', '>=', dbNowMs),
            ),
          ),
        )
        .limit(100)
        .execute();
      const now = Date.now();
      const seen = new Map<string, number>();
      let woken = 0;
      for (const r of rows) {
        const key = `${r.id}:${r.last_seq}`;
        const last = recent.get(key);
        if (last !== undefined && now - last < RETRY_MS) {
          seen.set(key, last);
          continue;
        }
        seen.set(key, now);
        runtime.wake(r.id);
        woken++;
      }
      recent = seen;
      if (woken) ctx.log.info({ sessions: woken }, 'waking sessions that have no live lease');
    } catch (err) {
      ctx.log.warn({ err }, 'lease sweep failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
