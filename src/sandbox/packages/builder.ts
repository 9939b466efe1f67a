import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Networking } from '../../domain/environments.js';
import type { Packages } from '../../domain/environments.js';
import { PACKAGE_MANAGERS } from '../../domain/packages.js';
import { WorkspaceQuota } from '../../tools/quota.js';
import { EgressGate } from '../egress/gate.js';
import { PACKAGES_PATH, type SandboxLimits, type SandboxProvider, type SessionDirs } from '../types.js';
import { messageOf, codeOf } from '../../error-info.js';

/** Where each manager installs under PACKAGES_PATH, and what makes its packages visible to tools. */
export const PACKAGE_ENV: Record<string, string> = {
  PATH: ['pip/bin', 'npm/bin', 'cargo/bin', 'gem/bin', 'go/bin'].map((d) => `${PACKAGES_PATH}/${d}`).join(':'),
  PYTHONPATH: `${PACKAGES_PATH}/pip`,
  NODE_PATH: `${PACKAGES_PATH}/npm/lib/node_modules`,
  GEM_PATH: `${PACKAGES_PATH}/gem`,
};

/**
 * The install, run by bash inside the build sandbox. It is a constant: the package lists reach it
 * as data (one entry per line in `<manager>.list`, read with `mapfile`), and each entry is passed
 * to its package manager as one argument after `--`, so no entry is ever parsed as shell code.
 * Each manager installs into its own directory under PACKAGES_PATH (see PACKAGE_ENV).
 */
const INSTALL_SCRIPT =
  [
    'set -u',
    'cd /workspace || exit 1',
    'P=__PREFIX__',
    // Go's official install location is not on the usual PATH.
    'export PATH="$PATH:/usr/local/go/bin"',
    'export TMPDIR=/workspace/tmp CARGO_HOME=/workspace/cargo GOPATH=/workspace/go GOCACHE=/workspace/go/cache GOFLAGS=-modcacherw',
    'export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false',
    'mkdir -p "$TMPDIR"',
    'PKGS=()',
    'list() { PKGS=(); [ -s "$1.list" ] && mapfile -t PKGS < "$1.list"; }',
    'need() { command -v "$1" >/dev/null 2>&1 || { echo "[paddock] $2 packages need $1, which is not installed on this server"; exit 127; }; }',
    'step() { echo "[paddock] $1: installing ${PKGS[*]}"; }',
    'if list pip; then',
    '  need python3 pip; step pip',
    '  python3 -m pip install --no-cache-dir --target "$P/pip" -- "${PKGS[@]}" || exit',
    'fi',
    'if list npm; then',
    '  need npm npm; step npm',
    // --prefix would also move npm's global config file: keep the host's (its registry, its CA file).
    '  rc=$(npm config get globalconfig) || exit',
    '  npm install --global --prefix "$P/npm" --globalconfig "$rc" -- "${PKGS[@]}" || exit',
    'fi',
    'if list gem; then',
    '  need gem gem; step gem',
    '  gem install --no-document --install-dir "$P/gem" --bindir "$P/gem/bin" -- "${PKGS[@]}" || exit',
    'fi',
    'if list cargo; then',
    '  need cargo cargo; step cargo',
    '  cargo install --root "$P/cargo" -- "${PKGS[@]}" || exit',
    'fi',
    'if list go; then',
    '  need go go; step go',
    '  for p in "${PKGS[@]}"; do',
    '    case "$p" in *@*) ;; *) p="$p@latest" ;; esac',
    '    GOBIN="$P/go/bin" go install -- "$p" || exit',
    '  done',
    'fi',
    'echo "[paddock] done"',
  ]
    .join('\n')
    .replace('__PREFIX__', PACKAGES_PATH) + '\n';

export interface BuildJob {
  /** Names the build in logs and egress refusals. */
  id: string;
  /** An empty scratch directory the build may use (its home, caches, temporary files). */
  root: string;
  /** An empty directory the packages are installed into: PACKAGES_PATH inside the build. */
  prefix: string;
  packages: Packages;
  networking: Networking;
}

export interface BuildResult {
  ok: boolean;
  /**
   * Host path of the install's output, a copy only Paddock can write: whatever the install left
   * under `root` and `prefix` (symlinks included) is the build's, not to be trusted.
   */
  log: string;
}

/** Installs an environment's packages into a directory: the cache (cache.ts) decides when. */
export interface PackageBuilder {
  build(job: BuildJob): Promise<BuildResult>;
}

export interface SandboxPackageBuilderOptions {
  provider: SandboxProvider;
  limits: SandboxLimits;
  timeoutMs: number;
  /** Host user the build's sandbox runs as (when Paddock runs as root): owns its writable dirs. */
  owner?: { uid: number; gid: number };
  serverPort: () => number;
  log: Logger;
}

/**
 * Runs the install in a sandbox of its own, exactly like a session's: the same bubblewrap
 * isolation and limits, the network only through an egress proxy applying the environment's
 * networking (so under `limited`, the registries are reachable only with
 * `allow_package_managers`). Only the prefix and the scratch directory are writable.
 */
export class SandboxPackageBuilder implements PackageBuilder {
  private readonly quota: WorkspaceQuota;

  constructor(private readonly opts: SandboxPackageBuilderOptions) {
    this.quota = new WorkspaceQuota(opts.limits.diskMib);
  }

  async build(job: BuildJob): Promise<BuildResult> {
    const dirs: SessionDirs = {
      root: job.root,
      workspace: path.join(job.root, 'home'),
      outputs: path.join(job.root, 'outputs'),
      resources: path.join(job.root, 'resources'),
      proxySocket: path.join(job.root, 'proxy.sock'),
    };
    const log = path.join(dirs.workspace, 'install.log');
    for (const d of [dirs.workspace, dirs.outputs, dirs.resources]) await fs.mkdir(d, { recursive: true, mode: 0o755 });
    for (const m of PACKAGE_MANAGERS) {
      if (job.packages[m].length) await fs.writeFile(path.join(dirs.workspace, `${m}.list`), job.packages[m].join('\n') + '\n', { mode: 0o444 });
    }
    await fs.writeFile(path.join(dirs.workspace, 'install.sh'), INSTALL_SCRIPT, { mode: 0o444 });
    await fs.writeFile(log, '', { mode: 0o644 });
    const owner = this.opts.owner;
    if (owner) for (const d of [dirs.workspace, dirs.outputs, job.prefix, log]) await fs.chown(d, owner.uid, owner.gid);

    const gate = new EgressGate({ sessionId: job.id, networking: job.networking, mcpHosts: [], serverPort: this.opts.serverPort, log: this.opts.log });
    const sandbox = await this.opts.provider.start({
      sessionId: job.id,
      dirs,
      networking: job.networking,
      mounts: [],
      limits: this.opts.limits,
      egress: gate,
      packages: { hostPath: job.prefix, writable: true, env: {} },
    });
    // The build's disk (scratch, caches and what it installs) is held to the session quota.
    const guard = this.quota.guard(job.id, { ...dirs, workspace: job.root }, () => void sandbox.call('cancel', {}));
    let ok = false;
    let note: string;
    try {
      const r = await sandbox.call('bash', {
        command: 'bash --noprofile --norc /workspace/install.sh >>/workspace/install.log 2>&1',
        timeout_ms: this.opts.timeoutMs,
      });
      ok = !r.is_error;
      const text = r.content
        .map((c) => (c.type === 'text' ? c.text : ''))
        .join('\n')
        .trim();
      note = ok
        ? ''
        : /timed out/.test(text)
          ? `the install did not finish within ${this.opts.timeoutMs / 1000} s`
          : text.replace(/^exit /, 'the install exited with status ');
    } catch (err) {
      note = `the install sandbox failed: ${messageOf(err)}`;
    } finally {
      guard.stop();
      this.quota.forget(job.id);
      await sandbox.close();
    }
    // Nothing of the build runs any more (its sandbox is closed): copy what it wrote, safely.
    const copy = path.join(job.root, 'install.log');
    await copyOutput(log, copy, LOG_MAX_BYTES);
    await fs.appendFile(copy, refusals(gate) + (note ? `[paddock] ${note}\n` : ''));
    return { ok, log: copy };
  }
}

/** The most of an install's output that is kept (its end). */
const LOG_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Copies the end of the log the build wrote, opened without following a symlink and checked to
 * be a regular file: the build could have replaced it with a link to any host file.
 */
async function copyOutput(src: string, dest: string, maxBytes: number): Promise<void> {
  let text = '';
  try {
    const fh = await fs.open(src, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file');
      const start = Math.max(0, st.size - maxBytes);
      const buf = Buffer.alloc(st.size - start);
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      text = (start > 0 ? `[paddock] (the first ${start} bytes of the output are left out)\n` : '') + buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    text = `[paddock] the install's output could not be read (${codeOf(err) ?? messageOf(err)})\n`;
  }
  await fs.writeFile(dest, text, { flag: 'wx', mode: 0o600 });
}

/** The build's refused connections, one line per host and reason (package managers retry a lot). */
function refusals(gate: EgressGate): string {
  const counts = new Map<string, number>();
  for (const d of gate.takeDenials()) {
    const line = `[paddock] network egress refused: ${d.host}:${d.port} (${d.reason})`;
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return [...counts].map(([line, n]) => (n > 1 ? `${line} ×${n}\n` : `${line}\n`)).join('');
}
