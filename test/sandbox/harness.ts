import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Environment, Networking } from '../../src/domain/environments.js';
import type { Session } from '../../src/domain/sessions.js';
import type { ToolOutcome } from '../../src/runtime/tool-executor.js';
import { egressTls } from '../../src/sandbox/egress/ca.js';
import { createSandboxExecutor } from '../../src/sandbox/index.js';
import { sandboxSettings, type SandboxOverrides } from '../../src/sandbox/settings.js';
import type { SandboxToolExecutor } from '../../src/tools/executor.js';

/** A real bubblewrap-backed executor on a temporary data dir, called directly (no server). */
export interface Harness {
  dataDir: string;
  executor: SandboxToolExecutor;
  run(
    sessionId: string,
    name: string,
    input: Record<string, unknown>,
    opts?: { networking?: Networking; signal?: AbortSignal; resources?: Record<string, unknown>[] },
  ): Promise<ToolOutcome>;
  close(): Promise<void>;
}

export function textOf(o: ToolOutcome): string {
  return o.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

/** `settings` change the defaults; the harness's own are a small disk, few processes, a small /tmp. */
export function harness(settings: SandboxOverrides = {}, extra: { serverPort?: number; files?: any } = {}): Harness {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'paddock-sbx-'));
  const executor = createSandboxExecutor({
    dataDir,
    serverPort: () => extra.serverPort ?? 4000,
    log: pino({ level: 'silent' }),
    files: extra.files,
    settings: sandboxSettings({ ...settings, limits: { diskMib: 64, processes: 128, tmpMib: 32, ...settings.limits } }),
    egress: egressTls(dataDir, undefined),
  });
  return {
    dataDir,
    executor,
    run(sessionId, name, input, opts = {}) {
      const session = { id: sessionId, agent: { tools: [], mcp_servers: [] }, resources: opts.resources ?? [] } as unknown as Session;
      const environment = { config: { type: 'cloud', networking: opts.networking ?? { type: 'unrestricted' } } } as unknown as Environment;
      return executor.execute({ session, environment, toolUseId: 'sevt_test', name, input, signal: opts.signal ?? new AbortController().signal });
    },
    async close() {
      await executor.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
