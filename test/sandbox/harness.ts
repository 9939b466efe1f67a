import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Environment, Networking } from '../../src/domain/environments.js';
import type { Session } from '../../src/domain/sessions.js';
import type { ToolOutcome } from '../../src/runtime/tool-executor.js';
import { createSandboxExecutor } from '../../src/sandbox/index.js';
import { sandboxSettings } from '../../src/sandbox/settings.js';
import type { SandboxToolExecutor } from '../../src/tools/executor.js';

/** A real bubblewrap-backed executor on a temporary data dir, called directly (no server). */
export interface Harness {
  dataDir: string;
  executor: SandboxToolExecutor;
  run(sessionId: string, name: string, input: Record<string, unknown>, opts?: { networking?: Networking; signal?: AbortSignal; resources?: Record<string, unknown>[] }): Promise<ToolOutcome>;
  close(): Promise<void>;
}

export function textOf(o: ToolOutcome): string {
  return o.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

export function harness(env: Record<string, string> = {}, extra: { serverPort?: number; files?: any } = {}): Harness {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'paddock-sbx-'));
  const executor = createSandboxExecutor({
    dataDir,
    serverPort: () => extra.serverPort ?? 4000,
    log: pino({ level: 'silent' }),
    files: extra.files,
    settings: sandboxSettings({ PADDOCK_SANDBOX_DISK_MB: '64', PADDOCK_SANDBOX_PROCESSES: '128', PADDOCK_SANDBOX_TMP_MB: '32', ...env }),
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
