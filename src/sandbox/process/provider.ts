import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { AgentConfig } from '../../tools/agent/protocol.js';
import { agentScriptPath } from '../agent-source.js';
import { AgentChannel } from '../channel.js';
import { AGENT_TIMEOUTS, callDeadlineMs } from '../deadlines.js';
import { agentLimits, type Sandbox, type SandboxProvider, type SandboxSpec } from '../types.js';

/**
 * NOT a sandbox: runs the tool agent as a plain child process on the host, in the session's
 * workspace directory, with a minimal environment. Only for operators who opt in explicitly
 * (`PADDOCK_SANDBOX=process`) on a machine without bubblewrap; tools can read and write anything
 * Paddock's user can, and the network policy is not enforced.
 */
export class ProcessProvider implements SandboxProvider {
  readonly name = 'process' as const;

  constructor(private readonly log: Logger) {}

  async start(spec: SandboxSpec): Promise<Sandbox> {
    const paths = { workspace: spec.dirs.workspace, outputs: spec.dirs.outputs, uploads: spec.dirs.resources };
    const config: AgentConfig = {
      workspace: spec.dirs.workspace,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: spec.dirs.workspace, LANG: 'C.UTF-8', TERM: 'dumb' },
      limits: agentLimits(spec.limits),
      timeouts: AGENT_TIMEOUTS,
      shellPrefix: [],
      ownsPidNamespace: false,
    };
    const child = spawn(process.execPath, [agentScriptPath(), JSON.stringify(config)], {
      cwd: spec.dirs.workspace,
      env: config.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const channel = new AgentChannel(child, this.log.child({ session_id: spec.sessionId, sandbox: 'process' }));
    await channel.ready;
    return { paths, call: (m, p) => channel.call(m, p, callDeadlineMs(m, p)), exited: channel.exited, close: () => channel.close() };
  }
}
