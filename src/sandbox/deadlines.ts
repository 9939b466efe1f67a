import type { AgentMethod, AgentTimeouts } from '../tools/agent/protocol.js';

/** The bounds the agent applies to tool calls (it receives them in its config). */
export const AGENT_TIMEOUTS: AgentTimeouts = { bashDefaultMs: 120_000, bashMaxMs: 600_000, searchMs: 120_000 };

/** How long after the agent's own bound Paddock still waits for its answer (killing a shell takes time). */
const GRACE_MS = 30_000;
/** read, write and edit touch one file of bounded size; anything slower is a stuck agent. */
const FILE_CALL_MS = 60_000;

/** The longest Paddock waits for the agent's answer to one call before it kills the sandbox. */
export function callDeadlineMs(method: AgentMethod, params: Record<string, unknown>, t: AgentTimeouts = AGENT_TIMEOUTS): number {
  switch (method) {
    case 'bash': {
      const asked = typeof params.timeout_ms === 'number' && Number.isInteger(params.timeout_ms) && params.timeout_ms > 0 ? params.timeout_ms : t.bashDefaultMs;
      return Math.min(asked, t.bashMaxMs) + GRACE_MS;
    }
    case 'grep':
    case 'glob':
      return t.searchMs + GRACE_MS;
    case 'read':
    case 'write':
    case 'edit':
      return FILE_CALL_MS;
    default:
      return GRACE_MS;
  }
}
