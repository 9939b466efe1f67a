import type { AppContext } from '../context.js';
import type { SessionLeases } from './leases.js';
import type { McpPort } from './mcp-port.js';
import { ModelClient } from './model.js';
import { RuntimeRecords } from './records.js';
import { SessionRunner } from './runner.js';

/**
 * The agent runtime: sessions wake on new client events and stop on archive/delete (it is one of
 * their lifecycle listeners); `recover()` resumes the sessions that were mid-turn when the
 * process last stopped.
 */
export function createRuntime(ctx: AppContext, leases: SessionLeases, mcp: McpPort): SessionRunner {
  return new SessionRunner(ctx, leases, new RuntimeRecords(ctx.store.db), new ModelClient(ctx.config.model), ctx.config.runtime, mcp);
}
