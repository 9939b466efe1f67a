import { constants, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';

/** The slice of the Files API that output capture needs (src/domain/files.ts implements it). */
export interface OutputFiles {
  create(content: Readable, meta: { filename?: string; scope?: { type: 'session'; id: string } | null }): Promise<{ id: string }>;
}

const MAX_FILES_PER_TURN = 1000;

/**
 * Files written to /mnt/session/outputs become Files API files scoped to the session, after each
 * turn; a file is captured again when its size or mtime changed. What was captured is remembered
 * in `<session dir>/outputs.json`, so a restart does not capture everything twice.
 */
export async function captureOutputs(files: OutputFiles, sessionId: string, outputsDir: string, stateFile: string, log: Logger): Promise<number> {
  let seen: Record<string, string> = {};
  try {
    seen = JSON.parse(await fs.readFile(stateFile, 'utf8')) as Record<string, string>;
  } catch {
    /* first capture */
  }
  const found: Array<{ rel: string; stamp: string }> = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (found.length >= MAX_FILES_PER_TURN) return;
      const r = rel ? `${rel}/${e.name}` : e.name;
      // The sandbox controls this directory: never follow its symlinks out of it.
      const st = await fs.lstat(path.join(dir, e.name)).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(path.join(dir, e.name), r);
      else if (st.isFile()) {
        const stamp = `${st.size}:${st.mtimeMs}`;
        if (seen[r] !== stamp) found.push({ rel: r, stamp });
      }
    }
  };
  await walk(outputsDir, '');
  let captured = 0;
  for (const f of found) {
    const full = path.join(outputsDir, f.rel);
    let handle;
    try {
      handle = await fs.open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
      const real = await fs.realpath(`/proc/self/fd/${handle.fd}`);
      if (!real.startsWith(outputsDir + path.sep) || !(await handle.stat()).isFile()) continue;
      const stream = createReadStream('', { fd: handle.fd, autoClose: false });
      await files.create(stream, { filename: path.basename(f.rel), scope: { type: 'session', id: sessionId } });
      seen[f.rel] = f.stamp;
      captured++;
    } catch (err) {
      log.warn({ err, session_id: sessionId, file: f.rel }, 'could not capture an output file');
    } finally {
      await handle?.close();
    }
  }
  if (captured) await fs.writeFile(stateFile, JSON.stringify(seen));
  return captured;
}

/** Bytes used under `dir` (allocated blocks), counting each inode once. */
export async function diskUsage(dir: string, budget = 200_000): Promise<number> {
  let total = 0;
  let visited = 0;
  const inodes = new Set<number>();
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++visited > budget) return;
      const p = path.join(d, e.name);
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st || inodes.has(st.ino)) continue;
      inodes.add(st.ino);
      total += st.blocks * 512;
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return total;
}
