import type { AppContext } from '../context.js';
import { InProcessLeases, type SessionLeases } from './leases.js';
import { ModelClient } from './model.js';
import { runtimeOptions } from './options.js';
import { RuntimeRecords } from './records.js';
import { SessionRunner } from './runner.js';
import { McpClients } from '../mcp/pool.js';

/** One MCP response body at most (a larger tool result is refused, not kept). */
const MCP_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Tools one MCP server may list. */
const MCP_MAX_TOOLS = 512;

/**
 * Starts the agent runtime: sessions wake on new client events, stop on archive/delete, and the
 * sessions that were mid-turn when the process last stopped are resumed from their logs.
 */
export async function startRuntime(ctx: AppContext, leases: SessionLeases = new InProcessLeases()): Promise<SessionRunner> {
  const mcp = new McpClients({
    outbound: ctx.outbound,
    credentialFor: (vaultIds, url) => ctx.credentials.mcpFor(vaultIds, url),
    log: ctx.log,
    bus: ctx.bus,
    options: { ...ctx.config.mcp, maxResponseBytes: MCP_MAX_RESPONSE_BYTES, maxTools: MCP_MAX_TOOLS },
  });
  const runner = new SessionRunner(ctx, leases, new RuntimeRecords(ctx.store.db), new ModelClient(ctx.config), runtimeOptions(), mcp);
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
  ctx.onClose.push(async () => {
    await runner.close();
    await mcp.close();
  });
  // Recovery runs in the background: the server answers requests while sessions resume.
  void runner.recover().catch((err) => ctx.log.error({ err }, 'runtime recovery failed'));
  return runner;
}
