import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import lockfile from 'proper-lockfile';
import type { Environment, Packages } from '../../domain/environments.js';
import { hasPackages, invalidEntries, PACKAGE_MANAGERS, UNSUPPORTED_MANAGERS } from '../../domain/packages.js';
import type { PackagePrefix } from '../types.js';
import { PACKAGE_ENV, type PackageBuilder } from './builder.js';

/** Bump when what a build produces changes (layout, script): every cache is then built anew. */
const RECIPE = 1;
/** In a finished build, the installed packages (what sandboxes mount); beside them, Paddock's files. */
const PREFIX_DIR = 'env';
/** A lock whose holder stopped refreshing it this long ago is taken over (its node died). */
const LOCK_STALE_MS = 60_000;
const LOCK_REFRESH_MS = 10_000;
/** How often a node waiting for another node's build looks again. */
const WAIT_POLL_MS = 500;
/** How much of the install's output a session.error carries (the whole output stays in the log file). */
const ERROR_TAIL_CHARS = 4000;

/** The environment's packages could not be made ready; `message` says why, with the install's output. */
export class PackageInstallError extends Error {}

export interface PackageCacheOptions {
  /** `<data dir>/packages`: one directory per environment, one finished build per package list. */
  root: string;
  builder: PackageBuilder;
  log: Logger;
  /** Paddock runs as root: finished builds are handed to root, so no sandbox user can write them. */
  rootOwned: boolean;
  /** The longest a session waits for a build (its own, or another node's). */
  waitMs: number;
}

/**
 * An environment's packages, installed once per package list and kept: the first sandbox of an
 * environment builds them (in a sandbox, see builder.ts), every later one mounts the finished
 * build read-only. A build is found by the environment and a hash of its package lists, so a
 * changed list builds anew and an unchanged one is never installed again. Concurrent first
 * sessions build once: in one process they share the build's promise; across nodes sharing the
 * data dir, a lock file decides who builds while the others wait for its result.
 *
 * Layout: `<root>/<environment id>/<hash>/` is a finished build (it appears by an atomic rename,
 * so it is complete when it exists): the packages in `env/`, beside `install.log` and `packages.json`;
 * `<hash>.failed.log` keeps the output of the last failed attempt. Builds run in `<root>/.build/`.
 */
export class PackageCache {
  private readonly building = new Map<string, Promise<PackagePrefix>>();

  constructor(private readonly opts: PackageCacheOptions) {}

  /** The prefix to mount for the environment, built first if needed; undefined when it lists no packages. */
  async prepare(environment: Environment, signal?: AbortSignal): Promise<PackagePrefix | undefined> {
    const config = environment.config;
    if (config.type !== 'cloud' || !hasPackages(config.packages)) return undefined;
    const packages = config.packages;
    checkInstallable(packages);
    if (!/^[A-Za-z0-9_]+$/.test(environment.id)) throw new Error(`invalid environment id ${environment.id}`);
    const hash = packagesHash(packages);
    const dir = path.join(this.opts.root, environment.id, hash);
    if (await isDir(dir)) {
      this.opts.log.debug({ environment_id: environment.id, packages_hash: hash }, 'environment packages: cached');
      return prefixAt(dir);
    }
    let build = this.building.get(dir);
    if (!build) {
      build = this.buildOnce(environment, packages, hash, dir).finally(() => this.building.delete(dir));
      this.building.set(dir, build);
    }
    return abortable(build, signal);
  }

  /** Waits for another node's build, or takes the lock and builds. */
  private async buildOnce(environment: Environment, packages: Packages, hash: string, dir: string): Promise<PackagePrefix> {
    const envDir = path.dirname(dir);
    await fs.mkdir(envDir, { recursive: true, mode: 0o700 });
    const deadline = Date.now() + this.opts.waitMs;
    for (;;) {
      if (await isDir(dir)) return prefixAt(dir);
      let release: (() => Promise<void>) | undefined;
      try {
        release = await lockfile.lock(dir, {
          realpath: false,
          stale: LOCK_STALE_MS,
          update: LOCK_REFRESH_MS,
          retries: 0,
          onCompromised: (err) =>
            this.opts.log.warn({ err, environment_id: environment.id }, 'package build lock lost; another node may build the same packages'),
        });
      } catch (err) {
        if ((err as { code?: string }).code !== 'ELOCKED') throw err;
        if (Date.now() > deadline)
          throw new PackageInstallError(`The environment's packages are still being installed by another Paddock node; try again later.`);
        await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
        continue;
      }
      try {
        if (await isDir(dir)) return prefixAt(dir);
        return await this.build(environment, packages, hash, dir);
      } finally {
        await release().catch(() => undefined);
      }
    }
  }

  /** Under the lock: builds into a scratch directory, then publishes by renaming it into place. */
  private async build(environment: Environment, packages: Packages, hash: string, dir: string): Promise<PackagePrefix> {
    // Scratch directories are kept short: the egress proxy's unix socket lives in one, and a
    // socket path has at most 107 bytes.
    const builds = path.join(this.opts.root, '.build');
    const key = createHash('sha256').update(dir).digest('hex').slice(0, 12);
    await fs.mkdir(builds, { recursive: true, mode: 0o711 });
    // Leftovers of a build of this list that died with its node (the lock is ours now).
    for (const name of await fs.readdir(builds)) {
      if (name.startsWith(`${key}-`)) await fs.rm(path.join(builds, name), { recursive: true, force: true });
    }
    const root = path.join(builds, `${key}-${randomBytes(3).toString('hex')}`);
    const prefix = path.join(root, 'prefix');
    await fs.mkdir(root, { mode: 0o711 });
    await fs.mkdir(prefix, { mode: 0o755 });
    const log = this.opts.log.child({ environment_id: environment.id, packages_hash: hash });
    const managers = PACKAGE_MANAGERS.filter((m) => packages[m].length > 0);
    log.info({ managers }, 'installing environment packages');
    const started = Date.now();
    try {
      const networking = environment.config.type === 'cloud' ? environment.config.networking : { type: 'unrestricted' as const };
      const result = await this.opts.builder.build({ id: `pkg_${hash.slice(0, 16)}`, root, prefix, packages, networking });
      if (!result.ok) {
        await fs.copyFile(result.log, `${dir}.failed.log`);
        const output = await tail(result.log, ERROR_TAIL_CHARS);
        log.warn({ ms: Date.now() - started, log: `${dir}.failed.log` }, 'environment packages failed to install');
        throw new PackageInstallError(
          `Installing the environment's packages (${managers.join(', ')}) failed, so the sandbox was not started. ` +
            `Fix config.packages (or the networking it needs) and send a new message to try again. The install's output${output.cut ? ' (last lines)' : ''}:\n${output.text}`,
        );
      }
      // Paddock's own files go beside the packages, into a directory the build never could
      // write: inside the prefix, a name may already be the build's symlink to a host file.
      const out = path.join(root, 'out');
      await fs.mkdir(out, { mode: 0o755 });
      await fs.copyFile(result.log, path.join(out, 'install.log'));
      await fs.writeFile(path.join(out, 'packages.json'), JSON.stringify(normalized(packages), null, 2) + '\n', { flag: 'wx' });
      // Nothing the build's sandbox user could write stays writable by it.
      if (this.opts.rootOwned) await chownTree(prefix, 0, 0);
      await fs.rename(prefix, path.join(out, PREFIX_DIR));
      await fs.rename(out, dir).catch(async (err: NodeJS.ErrnoException) => {
        // A node whose lock went stale published the same list first: theirs is as good.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
      await fs.rm(`${dir}.failed.log`, { force: true });
      log.info({ ms: Date.now() - started }, 'environment packages installed');
      return prefixAt(dir);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  }
}

/** Refuses what no build can install: a manager this server does not support, or an entry a stored environment kept from before the API checked it. */
function checkInstallable(packages: Packages): void {
  for (const m of PACKAGE_MANAGERS) {
    const why = UNSUPPORTED_MANAGERS[m];
    if (why && packages[m].length > 0) throw new PackageInstallError(`The environment's packages were not installed: ${why}.`);
  }
  const bad = invalidEntries(packages);
  if (bad.length)
    throw new PackageInstallError(`The environment's packages were not installed: not a package name with an optional version: ${bad.slice(0, 5).join('; ')}.`);
}

/** Each list deduplicated and sorted: the same set of packages is the same build. */
function normalized(packages: Packages): Record<string, string[]> {
  return Object.fromEntries(PACKAGE_MANAGERS.map((m) => [m, [...new Set(packages[m])].sort()]));
}

export function packagesHash(packages: Packages): string {
  return createHash('sha256')
    .update(JSON.stringify({ recipe: RECIPE, ...normalized(packages) }))
    .digest('hex')
    .slice(0, 32);
}

function prefixAt(dir: string): PackagePrefix {
  return { hostPath: path.join(dir, PREFIX_DIR), writable: false, env: PACKAGE_ENV };
}

async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * Hands a finished build's tree to `uid`, links included, never following one: fs.readdir's own
 * `recursive` descends into symlinked directories, and the build may have planted one to any
 * host directory.
 */
async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(dir, uid, gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await fs.lchown(p, uid, gid);
  }
}

/** The end of a file, at most `chars` long, cut at a line start. */
async function tail(file: string, chars: number): Promise<{ text: string; cut: boolean }> {
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - chars);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    let text = buf.toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return { text: text.trimEnd(), cut: start > 0 };
  } finally {
    await fh.close();
  }
}

/** The build goes on for whoever else waits for it; only this caller stops waiting. */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new Error('interrupted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
