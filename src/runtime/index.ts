import type { AppContext } from '../context.js';
import { InProcessLeases, type SessionLeases } from './leases.js';
import { ModelClient } from './model.js';
import { runtimeOptions } from './options.js';
import { RuntimeRecords } from './records.js';
import { SessionRunner } from './runner.js';

/**
 * Starts the agent runtime: sessions wake on new client events, stop on archive/delete, and the
 * sessions that were mid-turn when the process last stopped are resumed from their logs.
 */
export async function startRuntime(ctx: AppContext, leases: SessionLeases = new InProcessLeases()): Promise<SessionRunner> {
  const runner = new SessionRunner(ctx, leases, new RuntimeRecords(ctx.store.db), new ModelClient(ctx.config), runtimeOptions());
  const previous = ctx.sessions.hooks;
  ctx.sessions.hooks = {
    wake: (id) => {
      previous.wake(id);
      runner.wake(id);
    },
    retire: async (id, reason) => {
      await runner.retire(id, reason);
      await previous.retire(id, reason);
    },
  };
  ctx.onClose.push(() => runner.close());
  // Recovery runs in the background: the server answers requests while sessions resume.
  void runner.recover().catch((err) => ctx.log.error({ err }, 'runtime recovery failed'));
  return runner;
}
