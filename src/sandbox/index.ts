import { writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Outbound } from '../net/outbound.js';
import { SandboxToolExecutor, type SessionFiles } from '../tools/executor.js';
import { BubblewrapProvider } from './bubblewrap/provider.js';
import { EgressCA, upstreamTrust } from './egress/ca.js';
import type { CredentialSource } from './egress/session-credentials.js';
import { SessionRepositories, type RepositorySource } from './git/repositories.js';
import { SandboxPackageBuilder } from './packages/builder.js';
import { PackageCache } from './packages/cache.js';
import { SessionExtras, type ErrorReporter } from './session-extras.js';
import { ProcessProvider } from './process/provider.js';
import { sandboxSettings, type SandboxSettings } from './settings.js';
import type { SandboxProvider } from './types.js';
import { SessionVolumes } from './volume.js';

export interface SandboxDeps {
  dataDir: string;
  /** Paddock's own port, read when a connection is checked (it is known only once listening). */
  serverPort: () => number;
  log: Logger;
  files?: SessionFiles;
  settings?: SandboxSettings;
  /** The vault: `environment_variable` credentials are added to requests by the egress proxy. */
  credentials?: CredentialSource;
  /** Session resources: `github_repository` ones are cloned and mounted, their tokens added by the egress proxy. */
  repositories?: RepositorySource;
  /** `PADDOCK_OUTBOUND_ALLOW_HOSTS`: what server-side clones may reach though not global. */
  outboundAllowHosts?: string[];
  /** Where a `session.error` about a sandbox's credentials or repositories is recorded. */
  report?: ErrorReporter;
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
      provider = new BubblewrapProvider({ log, runAs, egress: { ca: EgressCA.load(deps.dataDir), upstreamTrust: tls.createSecureContext({ ca: upstreamTrust(settings.upstreamCaFile) }) } });
      log.info({ run_as: runAs?.uid ?? process.getuid?.(), limits: settings.limits }, 'sandbox provider: bubblewrap');
    }
  }
  const volumes = provider?.name === 'bubblewrap' ? sessionVolumes(settings, runAs, log) : undefined;
  // Packages are installed only where they can be mounted read-only: in bubblewrap sandboxes.
  const packages =
    provider?.name === 'bubblewrap'
      ? new PackageCache({
          root: path.join(deps.dataDir, 'packages'),
          builder: new SandboxPackageBuilder({ provider, limits: settings.limits, timeoutMs: settings.packagesTimeoutMs, owner: runAs, serverPort: deps.serverPort, log }),
          log,
          rootOwned: root,
          // Another node's build may have started just before: allow it the whole install time.
          waitMs: 2 * settings.packagesTimeoutMs,
        })
      : undefined;
  return new SandboxToolExecutor({
    packages,
    volumes,
    dataDir: deps.dataDir,
    log,
    settings,
    provider,
    unavailable,
    serverPort: deps.serverPort,
    files: deps.files,
    owner: provider?.name === 'bubblewrap' ? runAs : undefined,
    extras: provider?.name === 'bubblewrap' ? sessionExtras(deps, settings, runAs, log) : undefined,
  });
}

/** Credentials and repositories in sandboxes: both need the egress proxy, so bubblewrap only. */
function sessionExtras(deps: SandboxDeps, settings: SandboxSettings, runAs: { uid: number; gid: number } | undefined, log: Logger): SessionExtras {
  let caFile: string | undefined;
  if (settings.upstreamCaFile) {
    // git takes one CA file: the host's store and the operator's extra CAs together.
    caFile = path.join(deps.dataDir, 'egress-upstream-ca.pem');
    writeFileSync(caFile, upstreamTrust(settings.upstreamCaFile).join('\n'), { mode: 0o644 });
  }
  const repositories = deps.repositories
    ? new SessionRepositories({
        source: deps.repositories,
        outbound: new Outbound({ allow: deps.outboundAllowHosts ?? [], serverPort: deps.serverPort, log }),
        owner: runAs,
        caFile,
        log,
      })
    : undefined;
  return new SessionExtras({ credentials: deps.credentials, repositories, report: deps.report, log });
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
    log.warn(`session volumes unavailable (${problem}): workspaces are plain directories and the disk quota is polled, so background writers can pass it by what they write in about a second`);
    return undefined;
  }
  log.info({ size_mib: settings.limits.diskMib }, 'session disks: one ext4 volume per session');
  return new SessionVolumes({ sizeMib: settings.limits.diskMib, owner: runAs ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }, log });
}
