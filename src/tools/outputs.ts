import { promises as fs, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { deadlineIn, UNTRUSTED_OPEN, walkTree, type TreeEntry, type WalkCut } from './tree-walk.js';
import { codeOf } from '../error-info.js';

/** The slice of the Files API that output capture needs (src/domain/files.ts implements it). */
export interface OutputFiles {
  create(content: Readable, meta: { filename?: string; scope?: { type: 'session'; id: string } | null }): Promise<{ id: string }>;
  /** The largest file it accepts: a bigger output is skipped without being read. */
  readonly maxBytes?: number;
}

/** What one turn's capture may do (PADDOCK_SANDBOX_CAPTURE_*, src/sandbox/settings.ts). */
export interface CaptureLimits {
  /** Bytes copied per turn, counted at each file's apparent size. */
  bytes: number;
  /** Files copied per turn. */
  files: number;
  /** Time per turn; what is left is captured after a later turn. */
  ms: number;
}

export const DEFAULT_CAPTURE_LIMITS: CaptureLimits = { bytes: 1024 * 1024 * 1024, files: 100, ms: 30_000 };

/** Entries a capture looks at per turn, and how deep: bounds on the walk, not on what is copied. */
const WALK = { maxEntries: 100_000, maxDepth: 32 };
/** Skipped files logged one by one per turn; beyond that, one line with their count. */
const LOGGED_SKIPS = 10;

/**
 * Files written to /mnt/session/outputs become Files API files scoped to the session, after each
 * turn; a file is captured again when it changed (inode, size or mtime). What was captured is
 * remembered in `<session dir>/outputs.json`, so a restart does not capture everything twice.
 *
 * The sandbox owns the directory and can swap any entry at any moment, so every file is opened
 * first (no symlink followed, no wait on a FIFO) and what was opened is checked: regular files
 * only. An inode is captured once however many hard links it has. A sparse file counts at its
 * apparent size: that is what the stored copy holds and what a download returns.
 */
export async function captureOutputs(
  files: OutputFiles,
  sessionId: string,
  outputsDir: string,
  stateFile: string,
  log: Logger,
  limits: CaptureLimits = DEFAULT_CAPTURE_LIMITS,
): Promise<number> {
  const seen = await readState(stateFile);
  const turn = new CaptureTurn(files, sessionId, log, limits, seen);
  let cut: WalkCut | 'error';
  try {
    cut = await walkTree(outputsDir, { ...WALK, deadline: turn.deadline }, (e) => turn.visit(e));
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return 0;
    log.warn({ err, session_id: sessionId }, 'output capture failed');
    cut = 'error';
  }
  turn.report(cut);
  // Names the walk did not reach keep their stamps; after a full walk, names now gone are dropped.
  const state = cut ? { ...seen, ...turn.next } : turn.next;
  if (JSON.stringify(state) !== JSON.stringify(seen)) await writeState(stateFile, state);
  return turn.captured;
}

/** One turn's capture: what it saw, what it copied, and what its budgets have left. */
class CaptureTurn {
  readonly deadline: number;
  /** Stamps (`dev:ino:size:mtimeNs`) for the names seen this turn whose content is captured. */
  readonly next: Record<string, string> = {};
  captured = 0;
  /** Stamps of content captured already, under any name: another hard link to it is not copied again. */
  private readonly done: Set<string>;
  /** This turn's inodes, and whether their content is captured (false: skipped or left for later). */
  private readonly inodes = new Map<string, boolean>();
  private readonly perFile: number;
  private budget: number;
  private attempts = 0;
  private tooLarge = 0;
  private atFileLimit = false;
  private readonly deferred = { files: 0, bytes: 0 };

  constructor(
    private readonly files: OutputFiles,
    private readonly sessionId: string,
    private readonly log: Logger,
    private readonly limits: CaptureLimits,
    private readonly seen: Record<string, string>,
  ) {
    this.done = new Set(Object.values(seen));
    this.deadline = deadlineIn(limits.ms);
    this.perFile = Math.min(limits.bytes, files.maxBytes ?? Infinity);
    this.budget = limits.bytes;
  }

  /** False ends the walk (the file budget is spent). */
  async visit({ rel, dirent, at }: TreeEntry): Promise<boolean | void> {
    if (!dirent.isFile()) return;
    const handle = await fs.open(at, UNTRUSTED_OPEN).catch(() => undefined);
    if (!handle) return;
    try {
      // What was opened decides, not what the listing said: it may have been swapped since.
      const st = await handle.stat({ bigint: true });
      if (!st.isFile() || this.settled(rel, st)) return;
      return await this.copy(rel, handle, st);
    } finally {
      await handle.close();
    }
  }

  /** True when this content needs no copy: unchanged, or another name of an inode already handled. */
  private settled(rel: string, st: BigIntStats): boolean {
    const id = `${st.dev}:${st.ino}`;
    const stamp = `${id}:${st.size}:${st.mtimeNs}`;
    const first = this.inodes.get(id);
    if (first !== undefined) {
      if (first) this.next[rel] = stamp;
      return true;
    }
    if (this.seen[rel] !== stamp && this.seen[rel] !== legacyStamp(st) && !this.done.has(stamp)) return false;
    this.inodes.set(id, true);
    this.next[rel] = stamp;
    return true;
  }

  private async copy(rel: string, handle: FileHandle, st: BigIntStats): Promise<boolean | void> {
    const id = `${st.dev}:${st.ino}`;
    const stamp = `${id}:${st.size}:${st.mtimeNs}`;
    const size = Number(st.size);
    this.inodes.set(id, false);
    if (size > this.perFile) {
      // Never fits: remembered as handled, so it is looked at again only once it changes.
      if (++this.tooLarge <= LOGGED_SKIPS) {
        this.log.warn({ session_id: this.sessionId, file: rel, size_bytes: size, limit_bytes: this.perFile }, 'output file too large to capture; skipped');
      }
      this.next[rel] = stamp;
      return;
    }
    if (this.attempts >= this.limits.files) {
      this.atFileLimit = true;
      return false;
    }
    if (size > this.budget) {
      this.deferred.files++;
      this.deferred.bytes += size;
      return;
    }
    this.attempts++;
    this.budget -= size;
    try {
      await this.files.create(contentOf(handle, size, this.deadline), { filename: path.basename(rel), scope: { type: 'session', id: this.sessionId } });
    } catch (err) {
      this.log.warn({ err, session_id: this.sessionId, file: rel }, 'could not capture an output file');
      return;
    }
    this.inodes.set(id, true);
    this.done.add(stamp);
    this.next[rel] = stamp;
    this.captured++;
  }

  /** One line for whatever this turn left behind. */
  report(cut: WalkCut | 'error'): void {
    const session_id = this.sessionId;
    if (this.tooLarge > LOGGED_SKIPS)
      this.log.warn({ session_id, files: this.tooLarge, limit_bytes: this.perFile }, 'output files too large to capture; skipped');
    const limit = this.atFileLimit ? 'files' : cut === 'error' ? undefined : (cut ?? (this.deferred.files ? 'bytes' : undefined));
    if (limit === 'depth') {
      this.log.warn({ session_id, max_depth: WALK.maxDepth }, 'output files nested deeper than capture looks are not captured');
    } else if (limit) {
      this.log.warn(
        { session_id, limit, deferred_files: this.deferred.files, deferred_bytes: this.deferred.bytes, limits: this.limits },
        'output capture reached a per-turn limit; the rest is captured after a later turn',
      );
    }
  }
}

/** The first `size` bytes (what was counted), ending early if the deadline passes. */
function contentOf(handle: FileHandle, size: number, deadline: number): Readable {
  if (size === 0) return Readable.from([]);
  const signal = AbortSignal.timeout(Math.max(0, Math.ceil(deadline - performance.now())));
  return handle.createReadStream({ autoClose: false, start: 0, end: size - 1, signal });
}

/** The stamp format before inodes were recorded (`size:mtimeMs`), so an upgrade does not capture everything again. */
function legacyStamp(st: BigIntStats): string {
  const sec = Number(st.mtimeNs / 1_000_000_000n);
  const nsec = Number(st.mtimeNs % 1_000_000_000n);
  return `${st.size}:${sec * 1e3 + nsec / 1e6}`;
}

async function readState(file: string): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, string>;
  } catch {
    /* first capture, or a state file lost to a crash: capture again */
  }
  return {};
}

async function writeState(file: string, state: Record<string, string>): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(state));
  await fs.rename(tmp, file);
}

/**
 * Bytes used under `dir` (allocated blocks), counting each inode once. Bounded in entries, depth
 * and time: a tree cut short is undercounted (the quota is best-effort).
 */
export async function diskUsage(dir: string, budget = 200_000, ms = 10_000): Promise<number> {
  let total = 0;
  const inodes = new Set<string>();
  await walkTree(dir, { maxEntries: budget, maxDepth: 256, deadline: deadlineIn(ms) }, async ({ at }) => {
    // lstat, not open: a file the measuring user may not read still counts, and nothing is followed.
    const st = await fs.lstat(at, { bigint: true }).catch(() => undefined);
    if (!st) return;
    const id = `${st.dev}:${st.ino}`;
    if (inodes.has(id)) return;
    inodes.add(id);
    total += Number(st.blocks) * 512;
  }).catch(() => undefined);
  return total;
}
