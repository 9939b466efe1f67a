import type { Logger } from 'pino';
import { SandboxToolExecutor, type SessionFiles } from '../tools/executor.js';
import { BubblewrapProvider } from './bubblewrap/provider.js';
import { ProcessProvider } from './process/provider.js';
import { sandboxSettings, type SandboxSettings } from './settings.js';
import type { SandboxProvider } from './types.js';

export interface SandboxDeps {
  dataDir: string;
  /** Paddock's own port, read when a connection is checked (it is known only once listening). */
  serverPort: () => number;
  log: Logger;
  files?: SessionFiles;
  settings?: SandboxSettings;
}

/**
 * Chooses the sandbox provider at start (PADDOCK_SANDBOX) and builds the tool executor. Without
 * bubblewrap or user namespaces Paddock says so and built-in tools fail with a clear error; the
 * unsandboxed `process` provider is used only when the operator asks for it by name.
 */
export function createSandboxExecutor(deps: SandboxDeps): SandboxToolExecutor {
  const settings = deps.settings ?? sandboxSettings();
  const log = deps.log.child({ component: 'sandbox' });
  const root = process.getuid?.() === 0;
  const runAs = root ? { uid: settings.uid, gid: settings.gid } : undefined;
  let provider: SandboxProvider | undefined;
  let unavailable: string | undefined;
  if (settings.provider === 'none') {
    unavailable = 'built-in tools are disabled on this server (PADDOCK_SANDBOX=none)';
  } else if (settings.provider === 'process') {
    log.warn(
      'PADDOCK_SANDBOX=process: built-in tools run UNSANDBOXED as host processes with the server user\'s full access to files and network; the network policy is NOT enforced. Use only on a trusted machine.',
    );
    provider = new ProcessProvider(log);
  } else {
    const problem = BubblewrapProvider.probe(runAs);
    if (problem) {
      unavailable = `no sandbox is available on this server (${problem})`;
      log.error(`sandbox unavailable: ${problem}. Built-in tools will fail until bubblewrap works, or set PADDOCK_SANDBOX=process to run them unsandboxed (unsafe).`);
    } else {
      provider = new BubblewrapProvider({ log, runAs });
      log.info({ run_as: runAs?.uid ?? process.getuid?.(), limits: settings.limits }, 'sandbox provider: bubblewrap');
    }
  }
  return new SandboxToolExecutor({
    dataDir: deps.dataDir,
    log,
    settings,
    provider,
    unavailable,
    serverPort: deps.serverPort,
    files: deps.files,
    owner: provider?.name === 'bubblewrap' ? runAs : undefined,
  });
}
