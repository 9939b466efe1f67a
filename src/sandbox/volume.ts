import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, promises as fs, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { pathExists } from '../path-exists.js';

const run = promisify(execFile);

/**
 * A session's disk as a filesystem of its own: an ext4 image file the size of the disk quota,
 * loop-mounted at `<session dir>/volume` while the session's sandbox runs. The kernel enforces
 * the quota on every writer (background processes included) with no margin, hard links and
 * sparse files count as the filesystem counts them, and a sandbox's mount table shows paths
 * inside the image rather than the host's. Needs root (mount) and e2fsprogs; without them the
 * sandbox falls back to plain directories with a polled quota (src/tools/quota.ts).
 *
 * Layout inside the image: `workspace/` and `outputs/` (owned by the sandbox user), and
 * `.paddock/` (root only: file resource copies and the egress proxy's socket).
 */
export class SessionVolumes {
  /** Mount points this process mounted or found mounted and used: what it unmounts at shutdown. */
  private readonly used = new Set<string>();

  constructor(private readonly opts: { sizeMib: number; owner: { uid: number; gid: number }; log: Logger }) {}

  /** Why volumes cannot be used here, or undefined: formats and mounts a tiny image once. */
  static probe(): string | undefined {
    if (process.getuid?.() !== 0) return 'Paddock does not run as root (mounting a volume needs it)';
    const dir = mkdtempSync(path.join(tmpdir(), 'paddock-volume-probe-'));
    const image = path.join(dir, 'probe.img');
    const mnt = path.join(dir, 'mnt');
    try {
      mkdirSync(mnt);
      writeFileSync(image, '');
      truncateSync(image, 8 * 1024 * 1024);
      execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'pipe' });
      execFileSync('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, image, mnt], { stdio: 'pipe' });
      execFileSync('umount', [mnt], { stdio: 'pipe' });
      return undefined;
    } catch (err) {
      return `cannot format or loop-mount an ext4 image (${firstLine(err)})`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Unmounts every volume this process used that nothing uses any more (sandboxes that ended by
   * themselves). Volumes of other Paddock processes sharing the data dir on this machine are
   * never touched; one left mounted by a crashed process is reused when its session runs again.
   */
  async unmountAll(): Promise<void> {
    for (const mountPoint of [...this.used]) {
      try {
        if (await isMountPoint(mountPoint)) await run('umount', [mountPoint]);
        this.used.delete(mountPoint);
      } catch (err) {
        this.opts.log.info({ mount_point: mountPoint, err: firstLine(err) }, 'session volume in use; left mounted');
      }
    }
  }

  /** Creates the session's image on first use and mounts it at `mountPoint` unless it already is. */
  async mount(image: string, mountPoint: string): Promise<void> {
    this.used.add(path.resolve(mountPoint));
    const fresh = !(await pathExists(image));
    if (fresh) await makeImage(image, this.opts.sizeMib);
    await fs.mkdir(mountPoint, { recursive: true, mode: 0o711 });
    if (!(await isMountPoint(mountPoint))) await run('mount', ['-t', 'ext4', '-o', MOUNT_OPTIONS, image, mountPoint]);
    await fs.chmod(mountPoint, 0o755);
    const { uid, gid } = this.opts.owner;
    for (const d of ['workspace', 'outputs']) {
      const p = path.join(mountPoint, d);
      await fs.mkdir(p, { recursive: true, mode: 0o755 });
      await fs.chown(p, uid, gid);
    }
    await fs.mkdir(path.join(mountPoint, '.paddock', 'resources'), { recursive: true, mode: 0o711 });
    await fs.rm(path.join(mountPoint, 'lost+found'), { recursive: true, force: true });
  }

  /**
   * Unmounts once nothing uses the volume. Never lazily: a lazily detached image that is mounted
   * again before the old mount is gone would be two live ext4 mounts of one image.
   */
  async unmount(mountPoint: string): Promise<void> {
    for (let attempt = 0; await isMountPoint(mountPoint); attempt++) {
      try {
        await run('umount', [mountPoint]);
        this.used.delete(path.resolve(mountPoint));
        return;
      } catch (err) {
        if (attempt >= 20) {
          this.opts.log.warn({ mount_point: mountPoint, err: firstLine(err) }, 'session volume still busy; left mounted for its next use');
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

const MOUNT_OPTIONS = 'loop,nosuid,nodev,noatime';

async function makeImage(image: string, sizeMib: number): Promise<void> {
  const tmp = `${image}.new`;
  await fs.rm(tmp, { force: true });
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.truncate(sizeMib * 1024 * 1024);
  } finally {
    await fh.close();
  }
  // No blocks reserved for root (the sandbox user should get the whole quota); lazy init keeps a
  // large image sparse and quick to make.
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1', tmp]);
  await fs.rename(tmp, image);
}

/** Mount points of this mount namespace, from /proc/self/mountinfo (octal escapes decoded). */
async function mountPoints(): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

async function isMountPoint(p: string): Promise<boolean> {
  return (await mountPoints()).includes(path.resolve(p));
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string | Buffer; message?: string };
  return (String(e.stderr || '') || e.message || String(err)).trim().split('\n')[0];
}
