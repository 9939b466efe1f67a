import { constants, promises as fs, type Dir, type Dirent } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/**
 * Walking a directory tree that a sandbox can change while it is walked (its workspace, its
 * outputs). Node has no openat(), but a path through `/proc/self/fd/<dirfd>/` is resolved from the
 * directory that descriptor holds: every entry is reached from a directory handle already opened
 * (O_NOFOLLOW, O_DIRECTORY), never by re-resolving a path from the host root, so neither a symlink
 * nor a rename planted during the walk can lead it out of the tree.
 */

/** Flags for opening something the sandbox controls: never follow its symlinks, never wait on it (FIFO, lease). */
export const UNTRUSTED_OPEN = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const OPEN_DIR = UNTRUSTED_OPEN | constants.O_DIRECTORY;

export interface TreeEntry {
  /** Path below the root, `/`-separated: a name for logs and state, never opened by the walk. */
  rel: string;
  dirent: Dirent;
  /**
   * `/proc/self/fd/<parent>/<name>`: the entry as it is now in the directory the walk holds open.
   * Valid only until `visit` returns. Open it with UNTRUSTED_OPEN and check what was opened (fstat).
   */
  at: string;
}

export interface WalkLimits {
  /** Entries visited at most (directories included). */
  maxEntries: number;
  /** Directory levels below the root descended into at most (two descriptors held per level). */
  maxDepth: number;
  /** The walk stops once `performance.now()` passes this. */
  deadline: number;
}

/** Why a walk did not see the whole tree, or undefined when it did. */
export type WalkCut = 'entries' | 'depth' | 'deadline' | 'stopped' | undefined;

/**
 * Calls `visit` for every entry under `root` (depth first), descending into directories. `visit`
 * returns false to end the walk. A directory that cannot be opened (gone, swapped for a symlink or
 * a file, unreadable) is skipped. Returns why the walk was cut short, if it was.
 */
export async function walkTree(root: string, limits: WalkLimits, visit: (e: TreeEntry) => Promise<boolean | void> | boolean | void): Promise<WalkCut> {
  let visited = 0;
  let cut: WalkCut;
  let tooDeep = false;
  const walk = async (dir: FileHandle, rel: string, depth: number): Promise<void> => {
    const parent = `/proc/self/fd/${dir.fd}`;
    let entries: Dir;
    try {
      entries = await fs.opendir(parent);
    } catch (err) {
      // At the root this is no /proc (not Linux): say so rather than walk nothing.
      if (depth === 0) throw err;
      return;
    }
    try {
      for await (const dirent of entries) {
        if (cut) return;
        if (++visited > limits.maxEntries) return void (cut = 'entries');
        if (performance.now() >= limits.deadline) return void (cut = 'deadline');
        const at = `${parent}/${dirent.name}`;
        const r = rel ? `${rel}/${dirent.name}` : dirent.name;
        if ((await visit({ rel: r, dirent, at })) === false) return void (cut = 'stopped');
        if (!dirent.isDirectory()) continue;
        if (depth >= limits.maxDepth) {
          tooDeep = true;
          continue;
        }
        const child = await fs.open(at, OPEN_DIR).catch(() => undefined);
        if (!child) continue;
        try {
          await walk(child, r, depth + 1);
        } finally {
          await child.close();
        }
      }
    } finally {
      // for-await closes the Dir when the loop ends or returns; this covers a throw before it.
      await entries.close().catch(() => undefined);
    }
  };
  const top = await fs.open(root, OPEN_DIR);
  try {
    await walk(top, '', 0);
  } finally {
    await top.close();
  }
  return cut ?? (tooDeep ? 'depth' : undefined);
}

/** A deadline `ms` from now, on the monotonic clock walkTree uses. */
export const deadlineIn = (ms: number): number => performance.now() + ms;
