import { promises as fs, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { deadlineIn, UNTRUSTED_OPEN, walkTree } from './tree-walk.js';

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
  /** Stamps of content captured already, under any name: another hard link to it is not copied again. */
  const done = new Set(Object.values(seen));
  /** This turn's inodes, and whether their content is captured (false: skipped or left for later). */
  const inodes = new Map<string, boolean>();
  const next: Record<string, string> = {};
  const deadline = deadlineIn(limits.ms);
  const perFile = Math.min(limits.bytes, files.maxBytes ?? Infinity);
  let budget = limits.bytes;
  let captured = 0;
  let attempts = 0;
  let tooLarge = 0;
  let atFileLimit = false;
  const deferred = { files: 0, bytes: 0 };
  const visit = async (rel: string, handle: FileHandle): Promise<boolean | void> => {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) return;
    const id = `${st.dev}:${st.ino}`;
    const stamp = `${id}:${st.size}:${st.mtimeNs}`;
    const first = inodes.get(id);
    if (first !== undefined) {
      if (first) next[rel] = stamp;
      return;
    }
    if (seen[rel] === stamp || seen[rel] === legacyStamp(st) || done.has(stamp)) {
      inodes.set(id, true);
      next[rel] = stamp;
      return;
    }
    inodes.set(id, false);
    const size = Number(st.size);
    if (size > perFile) {
      // Never fits: remembered as handled, so it is looked at again only once it changes.
      if (++tooLarge <= LOGGED_SKIPS) log.warn({ session_id: sessionId, file: rel, size_bytes: size, limit_bytes: perFile }, 'output file too large to capture; skipped');
      next[rel] = stamp;
      return;
    }
    if (attempts >= limits.files) {
      atFileLimit = true;
      return false;
    }
    if (size > budget) {
      deferred.files++;
      deferred.bytes += size;
      return;
    }
    attempts++;
    budget -= size;
    try {
      await files.create(contentOf(handle, size, deadline), { filename: path.basename(rel), scope: { type: 'session', id: sessionId } });
      inodes.set(id, true);
      done.add(stamp);
      next[rel] = stamp;
      captured++;
    } catch (err) {
      log.warn({ err, session_id: sessionId, file: rel }, 'could not capture an output file');
    }
  };
  let cut: string | undefined;
  try {
    cut = await walkTree(outputsDir, { ...WALK, deadline }, async ({ rel, dirent, at }) => {
      if (!dirent.isFile()) return;
      const handle = await fs.open(at, UNTRUSTED_OPEN).catch(() => undefined);
      if (!handle) return;
      try {
        return await visit(rel, handle);
      } finally {
        await handle.close();
      }
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    log.warn({ err, session_id: sessionId }, 'output capture failed');
    cut = 'error';
  }
  if (tooLarge > LOGGED_SKIPS) log.warn({ session_id: sessionId, files: tooLarge, limit_bytes: perFile }, 'output files too large to capture; skipped');
  const limit = atFileLimit ? 'files' : cut === 'error' ? undefined : (cut ?? (deferred.files ? 'bytes' : undefined));
  if (limit === 'depth') log.warn({ session_id: sessionId, max_depth: WALK.maxDepth }, 'output files nested deeper than the capture walks are not captured');
  else if (limit) {
    log.warn(
      { session_id: sessionId, limit, deferred_files: deferred.files, deferred_bytes: deferred.bytes, limits },
      'output capture reached a per-turn limit; the rest is captured after a later turn',
    );
  }
  // Names the walk did not reach keep their stamps; after a full walk, names now gone are dropped.
  const state = cut ? { ...seen, ...next } : next;
  if (JSON.stringify(state) !== JSON.stringify(seen)) await writeState(stateFile, state);
  return captured;
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
