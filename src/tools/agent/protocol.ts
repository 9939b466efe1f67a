/**
 * The line protocol between Paddock and the tool agent that runs inside a sandbox. One JSON
 * object per line: requests on the agent's stdin, responses on its stdout. Type-only module, so
 * the agent (which may import nothing but Node built-ins) can share it.
 */

export interface AgentLimits {
  /** Address-space limit for each tool process, in KiB (`ulimit -v`). */
  memoryKib: number;
  /** CPU seconds per process (`ulimit -t`). */
  cpuSeconds: number;
  /** Largest file a tool process may write, in bytes (`ulimit -f`); also the workspace quota. */
  fileSizeBytes: number;
  /** Processes and threads in the whole sandbox (`ulimit -u`). */
  processes: number;
}

/**
 * How long tool calls may run. The agent stops a call at these bounds, and Paddock gives up on
 * the agent a grace period later (src/sandbox/deadlines.ts), so both sides use the same numbers.
 */
export interface AgentTimeouts {
  bashDefaultMs: number;
  bashMaxMs: number;
  /** grep (ripgrep) and glob walks. */
  searchMs: number;
}

export interface AgentConfig {
  /** Where the model's relative paths resolve, and bash starts: `/workspace` inside bubblewrap. */
  workspace: string;
  /** Environment of every tool process (already minimal: PATH, HOME, proxy variables…). */
  env: Record<string, string>;
  limits: AgentLimits;
  timeouts: AgentTimeouts;
  /**
   * The command line that starts the bash tool's shell inside a nested sandbox of its own (new
   * user and PID namespaces), so the session's processes can neither see nor signal nor trace the
   * agent and its channel to Paddock. Empty: the shell runs beside the agent (process provider).
   */
  shellPrefix: string[];
  /**
   * True inside a private PID namespace: on a runaway the agent may kill every other process it
   * can see. Never true for the unsandboxed `process` provider.
   */
  ownsPidNamespace: boolean;
  /** Unix socket of the egress proxy; the agent bridges 127.0.0.1:`proxyPort` to it. */
  proxySocket?: string;
  proxyPort?: number;
}

export type AgentMethod = 'bash' | 'read' | 'write' | 'edit' | 'glob' | 'grep' | 'cancel' | 'ping';

export interface AgentRequest {
  id: number;
  method: AgentMethod;
  params: Record<string, unknown>;
}

export type AgentBlock = { type: 'text'; text: string } | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } };

export interface AgentResponse {
  id: number;
  result: { is_error: boolean; content: AgentBlock[] };
}
