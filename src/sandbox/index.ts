import path from 'node:path';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { SandboxToolExecutor, type SessionFiles } from '../tools/executor.js';
import { BubblewrapProvider } from './bubblewrap/provider.js';
import type { EgressCA } from './egress/ca.js';
import { SandboxPackageBuilder } from './packages/builder.js';
import { PackageCache } from './packages/cache.js';
import { ProcessProvider } from './process/provider.js';
import type { SessionExtras } from './session-extras.js';
import type { SandboxSettings } from './settings.js';
import type { SandboxProvider } from './types.js';
import { SessionVolumes } from './volume.js';

export interface SandboxDeps {
  dataDir: string;
  /** Paddock's own port, read when a connection is checked (it is known only once listening). */
  serverPort: () => number;
  log: Logger;
  files?: SessionFiles;
  settings: SandboxSettings;
  /** The installation's egress CA and the trust for servers behind it; without, the egress proxy opens no TLS. */
  egress?: { ca: EgressCA; upstreamTrust: tls.SecureContext };
  /** What sessions bring into their sandboxes (credentials, repositories); they need the egress proxy, so bubblewrap only. */
  extras?: SessionExtras;
}

/** The host user sandboxes run as: when Paddock runs as root, the configured one (root cannot be process-limited). */
export function sandboxUser(settings: SandboxSettings): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: settings.uid, gid: settings.gid } : undefined;
}

/**
 * Chooses the sandbox provider at start (PADDOCK_SANDBOX) and builds the tool executor. Without
 * bubblewrap or user namespaces Paddock says so and built-in tools fail with a clear error; the
 * unsandboxed `process` provider is used only when the operator asks for it by name.
 */
export function createSandboxExecutor(deps: SandboxDeps): SandboxToolExecutor {
  const { settings } = deps;
  const log = deps.log.child({ component: 'sandbox' });
  const runAs = sandboxUser(settings);
  let provider: SandboxProvider | undefined;
  let unavailable: string | undefined;
  if (settings.provider === 'none') {
    unavailable = 'built-in tools are disabled on this server (PADDOCK_SANDBOX=none)';
  } else if (settings.provider === 'process') {
    log.warn(
      "PADDOCK_SANDBOX=process: built-in tools run UNSANDBOXED as host processes with the server user's full access to files and network; the network policy is NOT enforced. Use only on a trusted machine.",
    );
    provider = new ProcessProvider(log);
  } else {
    const problem = BubblewrapProvider.probe(runAs);
    if (problem) {
      unavailable = `no sandbox is available on this server (${problem})`;
      log.error(
        `sandbox unavailable: ${problem}. Built-in tools will fail until bubblewrap works, or set PADDOCK_SANDBOX=process to run them unsandboxed (unsafe).`,
      );
    } else {
      provider = new BubblewrapProvider({ log, runAs, egress: deps.egress });
      log.info({ run_as: runAs?.uid ?? process.getuid?.(), limits: settings.limits }, 'sandbox provider: bubblewrap');
    }
  }
  const bubblewrap = provider?.name === 'bubblewrap';
  // Packages are installed only where they can be mounted read-only: in bubblewrap sandboxes.
  const packages =
    provider?.name === 'bubblewrap'
      ? new PackageCache({
          root: path.join(deps.dataDir, 'packages'),
          builder: new SandboxPackageBuilder({
            provider,
            limits: settings.limits,
            timeoutMs: settings.packagesTimeoutMs,
            owner: runAs,
            serverPort: deps.serverPort,
            log,
          }),
          log,
          rootOwned: process.getuid?.() === 0,
          // Another node's build may have started just before: allow it the whole install time.
          waitMs: 2 * settings.packagesTimeoutMs,
        })
      : undefined;
  return new SandboxToolExecutor({
    packages,
    volumes: bubblewrap ? sessionVolumes(settings, runAs, log) : undefined,
    dataDir: deps.dataDir,
    log,
    settings,
    provider,
    unavailable,
    serverPort: deps.serverPort,
    files: deps.files,
    owner: bubblewrap ? runAs : undefined,
    extras: bubblewrap ? deps.extras : undefined,
  });
}

/**
 * Each session's disk as an ext4 volume of the quota's size where the machine allows it (root,
 * loop devices, e2fsprogs): the only way the quota holds against background writers.
 */
function sessionVolumes(settings: SandboxSettings, runAs: { uid: number; gid: number } | undefined, log: Logger): SessionVolumes | undefined {
  if (settings.volume === 'directory') return undefined;
  const problem = SessionVolumes.probe();
  if (problem) {
    if (settings.volume === 'image') throw new Error(`PADDOCK_SANDBOX_VOLUME=image, but ${problem}`);
    log.warn(
      `session volumes unavailable (${problem}): workspaces are plain directories and the disk quota is polled, so background writers can pass it by what they write in about a second`,
    );
    return undefined;
  }
  log.info({ size_mib: settings.limits.diskMib }, 'session disks: one ext4 volume per session');
  return new SessionVolumes({ sizeMib: settings.limits.diskMib, owner: runAs ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }, log });
}
