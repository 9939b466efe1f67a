import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Readable } from 'node:stream';
import { toFile } from '@anthropic-ai/sdk';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Files, type FileMetadata } from '../../src/domain/files.js';
import { LocalDiskBlobStore } from '../../src/store/blobs.js';
import { captureOutputs, diskUsage, type CaptureLimits } from '../../src/tools/outputs.js';
import { walkTree, deadlineIn } from '../../src/tools/tree-walk.js';
import { events, harness, newSession, say, waitForIdle, type Harness as ServerHarness } from '../runtime/harness.js';
import { useStore } from '../support/store-backends.js';

// What the sandbox leaves in /mnt/session/outputs is hostile: FIFOs, symlinks out of the
// directory, entries swapped while capture runs, hard links, sparse giants, floods of files.
// Capture must finish every turn, copy only regular files inside the directory, and stay within
// its per-turn budgets, leaving the rest for a later turn.

const db = useStore('sqlite');
const MAX_FILE = 8 * 1024 * 1024;
let files: Files;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'paddock-capture-'));
  files = new Files(db.store.db, new LocalDiskBlobStore(path.join(tmp, 'blobs')), MAX_FILE);
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

let n = 0;
/** A session directory as the executor lays it out: `outputs/` (the sandbox's), `outputs.json` (Paddock's). */
async function session(layout: Record<string, string> = {}) {
  const root = path.join(tmp, `sesn_${++n}`);
  const outputs = path.join(root, 'outputs');
  await fs.mkdir(outputs, { recursive: true });
  for (const [rel, content] of Object.entries(layout)) {
    await fs.mkdir(path.dirname(path.join(outputs, rel)), { recursive: true });
    await fs.writeFile(path.join(outputs, rel), content);
  }
  const made: FileMetadata[] = [];
  const logs: Array<Record<string, any>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  let hook: ((filename: string) => Promise<void> | void) | undefined;
  const sink = {
    maxBytes: files.maxBytes,
    async create(content: Readable, meta: { filename?: string; scope?: { type: 'session'; id: string } | null }) {
      await hook?.(meta.filename ?? '');
      const f = await files.create(content, meta);
      made.push(f);
      return f;
    },
  };
  const id = `sesn_${n}`;
  return {
    root,
    outputs,
    made,
    logs,
    /** Runs inside the capture, just before each copy: where a racing sandbox would act. */
    onCreate(fn: typeof hook) {
      hook = fn;
    },
    /** At the first copy only, every other one of `names` is replaced by what `make` puts there. */
    atFirstCopy(names: string[], make: (p: string) => Promise<unknown> | unknown, more?: (copying: string) => Promise<void>) {
      let struck = false;
      hook = async (copying) => {
        if (struck) return;
        struck = true;
        for (const other of names.filter((x) => x !== copying)) {
          await fs.rm(path.join(outputs, other));
          await make(path.join(outputs, other));
        }
        await more?.(copying);
      };
    },
    /** One turn's capture; resolves to the files it created. */
    async turn(limits?: CaptureLimits): Promise<FileMetadata[]> {
      const before = made.length;
      await captureOutputs(sink, id, outputs, path.join(root, 'outputs.json'), log, limits);
      return made.slice(before);
    },
  };
}

const text = async (f: FileMetadata) => {
  const { stream } = await files.content(f.id);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};
const names = (fs_: FileMetadata[]) => fs_.map((f) => f.filename).sort();
const mkfifo = (p: string) => execFileSync('mkfifo', [p]);
const LIMITS: CaptureLimits = { bytes: 1024 * 1024 * 1024, files: 100, ms: 60_000 };

describe('output capture', () => {
  it('never blocks on a FIFO swapped in while it runs: five sessions at once, and file operations go on', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, () => session({ 'a.txt': 'A', 'b.txt': 'B', 'c.txt': 'C' })));
    // Every file not copied yet becomes a FIFO that nobody writes.
    for (const s of sessions) s.atFirstCopy(['a.txt', 'b.txt', 'c.txt'], mkfifo);
    const results = await Promise.all(sessions.map((s) => s.turn(LIMITS)));
    // Node's file system work runs on four threads: they must all still be free.
    expect(await fs.readFile(path.join(sessions[0].root, 'outputs.json'), 'utf8')).toMatch(/^\{/);
    for (const r of results) {
      expect(r).toHaveLength(1);
      expect(await text(r[0])).toBe(r[0].filename[0].toUpperCase());
    }
    // A FIFO from the start, under a name captured before as a regular file, is passed over too.
    const s = sessions[0];
    s.onCreate(undefined);
    await fs.rm(path.join(s.outputs, results[0][0].filename));
    mkfifo(path.join(s.outputs, results[0][0].filename));
    await fs.writeFile(path.join(s.outputs, 'd.txt'), 'D');
    expect(names(await s.turn(LIMITS))).toEqual(['d.txt']);
  });

  it('copies nothing from outside the outputs directory: symlinks, symlinked directories, entries swapped during capture', async () => {
    const s = await session({ 'a.txt': 'A', 'b.txt': 'B', 'c.txt': 'C', 'sub/d.txt': 'D' });
    const secret = path.join(s.root, 'host-secret.txt');
    await fs.writeFile(secret, 'HOST-SECRET');
    const hostDir = path.join(s.root, 'host-dir');
    await fs.mkdir(hostDir);
    await fs.writeFile(path.join(hostDir, 'd.txt'), 'HOST-SECRET');
    await fs.symlink(secret, path.join(s.outputs, 'link.txt'));
    await fs.symlink(hostDir, path.join(s.outputs, 'linked-dir'));
    s.atFirstCopy(
      ['a.txt', 'b.txt', 'c.txt'],
      (p) => fs.symlink(secret, p),
      async (copying) => {
        if (copying === 'd.txt') return;
        await fs.rm(path.join(s.outputs, 'sub'), { recursive: true });
        await fs.symlink(hostDir, path.join(s.outputs, 'sub'));
      },
    );
    const got = await s.turn(LIMITS);
    expect(got).toHaveLength(1);
    for (const f of got) expect(await text(f)).not.toContain('HOST-SECRET');
    s.onCreate(undefined);
    expect(await s.turn(LIMITS)).toEqual([]);
  });

  it('captures a hard-linked file once, also when more links appear in later turns', async () => {
    const s = await session({ 'a.txt': 'shared content', 'sub/other.txt': 'other' });
    await fs.link(path.join(s.outputs, 'a.txt'), path.join(s.outputs, 'b.txt'));
    await fs.link(path.join(s.outputs, 'a.txt'), path.join(s.outputs, 'sub/c.txt'));
    const first = await s.turn(LIMITS);
    expect(first).toHaveLength(2);
    expect((await Promise.all(first.map(text))).sort()).toEqual(['other', 'shared content']);
    await fs.link(path.join(s.outputs, 'a.txt'), path.join(s.outputs, 'd.txt'));
    expect(await s.turn(LIMITS)).toEqual([]);
    // Changed content (through any of its names) is captured again, still once.
    await fs.appendFile(path.join(s.outputs, 'b.txt'), ' changed');
    const again = await s.turn(LIMITS);
    expect(again).toHaveLength(1);
    expect(await text(again[0])).toBe('shared content changed');
  });

  it('skips a 1 TiB sparse file without reading it, says so once, and looks again only when it changes', async () => {
    const s = await session({ 'small.txt': 'small' });
    const big = path.join(s.outputs, 'big.bin');
    await fs.writeFile(big, '');
    await fs.truncate(big, 2 ** 40);
    const copying: string[] = [];
    s.onCreate((filename) => void copying.push(filename));
    expect(names(await s.turn(LIMITS))).toEqual(['small.txt']);
    expect(copying).toEqual(['small.txt']);
    const skipped = () => s.logs.filter((l) => l.msg === 'output file too large to capture; skipped' && l.file === 'big.bin');
    expect(skipped()).toHaveLength(1);
    expect(skipped()[0]).toMatchObject({ level: 40, size_bytes: 2 ** 40 });
    expect(await s.turn(LIMITS)).toEqual([]);
    expect(skipped()).toHaveLength(1);
    await fs.truncate(big, 2 ** 40 + 1);
    expect(await s.turn(LIMITS)).toEqual([]);
    expect(skipped()).toHaveLength(2);
    expect(copying).toEqual(['small.txt']);
  });

  it('copies at most the byte budget per turn, counting apparent size; the rest comes in later turns', async () => {
    const kib = (k: number, c: string) => c.repeat(k * 1024);
    const s = await session({ 'a.bin': kib(400, 'a'), 'b.bin': kib(400, 'b'), 'c.bin': kib(400, 'c') });
    // A sparse file allocates almost nothing but is 400 KiB to download: it counts as 400 KiB.
    await fs.writeFile(path.join(s.outputs, 'd.bin'), '');
    await fs.truncate(path.join(s.outputs, 'd.bin'), 400 * 1024);
    const limits = { ...LIMITS, bytes: 1024 * 1024 };
    const turns: FileMetadata[][] = [];
    for (let i = 0; i < 3; i++) turns.push(await s.turn(limits));
    for (const t of turns) expect(t.reduce((sum, f) => sum + f.size_bytes, 0)).toBeLessThanOrEqual(limits.bytes);
    expect(turns.map((t) => t.length)).toEqual([2, 2, 0]);
    expect(names(turns.flat())).toEqual(['a.bin', 'b.bin', 'c.bin', 'd.bin']);
    expect(s.logs.some((l) => l.msg.startsWith('output capture reached a per-turn limit') && l.limit === 'bytes')).toBe(true);
    for (const f of turns.flat()) expect(await text(f)).toBe(f.filename === 'd.bin' ? '\0'.repeat(400 * 1024) : kib(400, f.filename[0]));
  });

  it('copies at most the file budget per turn; the rest comes in later turns', async () => {
    const layout = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`f${i}.txt`, `file ${i}`]));
    const s = await session(layout);
    const limits = { ...LIMITS, files: 3 };
    const counts: number[] = [];
    const all: FileMetadata[] = [];
    for (let i = 0; i < 4; i++) {
      const t = await s.turn(limits);
      counts.push(t.length);
      all.push(...t);
    }
    expect(counts).toEqual([3, 3, 1, 0]);
    expect(names(all)).toEqual(Object.keys(layout).sort());
    expect(s.logs.some((l) => l.limit === 'files')).toBe(true);
  });

  it('stops at the deadline and leaves the rest for a later turn', async () => {
    const s = await session({ 'a.txt': 'A', 'b.txt': 'B', 'empty.txt': '' });
    expect(await s.turn({ ...LIMITS, ms: 0 })).toEqual([]);
    expect(s.logs.some((l) => l.limit === 'deadline')).toBe(true);
    const later = await s.turn(LIMITS);
    expect(names(later)).toEqual(['a.txt', 'b.txt', 'empty.txt']);
    expect(await Promise.all(later.sort((x, y) => x.filename.localeCompare(y.filename)).map(text))).toEqual(['A', 'B', '']);
  });

  it('forgets files that are gone, so its state does not grow turn after turn', async () => {
    const s = await session({ 'a.txt': 'A', 'b.txt': 'B', 'keep.txt': 'K' });
    expect(await s.turn(LIMITS)).toHaveLength(3);
    await fs.rm(path.join(s.outputs, 'a.txt'));
    await fs.rm(path.join(s.outputs, 'b.txt'));
    expect(await s.turn(LIMITS)).toEqual([]);
    expect(Object.keys(JSON.parse(await fs.readFile(path.join(s.root, 'outputs.json'), 'utf8')))).toEqual(['keep.txt']);
  });

  it('after an upgrade, files captured under the old state format (size:mtime) are not captured again', async () => {
    const s = await session({ 'a.txt': 'A', 'b.txt': 'B' });
    const st = await fs.stat(path.join(s.outputs, 'a.txt'));
    await fs.writeFile(path.join(s.root, 'outputs.json'), JSON.stringify({ 'a.txt': `${st.size}:${st.mtimeMs}` }));
    expect(names(await s.turn(LIMITS))).toEqual(['b.txt']);
  });
});

describe('walking a tree the sandbox controls', () => {
  it('never leaves the tree when a directory is swapped for a symlink during the walk', async () => {
    const root = mkdtempSync(path.join(tmp, 'walk-'));
    const tree = path.join(root, 'tree');
    const host = path.join(root, 'host');
    for (const d of ['a', 'b', 'c']) await fs.mkdir(path.join(tree, d), { recursive: true });
    await fs.mkdir(host);
    await fs.writeFile(path.join(host, 'host-only'), 'x');
    const seen: string[] = [];
    await walkTree(tree, { maxEntries: 1000, maxDepth: 8, deadline: deadlineIn(60_000) }, async ({ rel }) => {
      seen.push(rel);
      if (seen.length > 1) return;
      // First entry seen: every directory becomes a symlink to a host directory before it is entered.
      for (const d of ['a', 'b', 'c']) {
        await fs.rm(path.join(tree, d), { recursive: true });
        await fs.symlink(host, path.join(tree, d));
      }
    });
    expect(seen.filter((r) => r.endsWith('host-only'))).toEqual([]);
  });

  it('disk usage never counts a host directory swapped in for a workspace directory', async () => {
    const root = mkdtempSync(path.join(tmp, 'du-'));
    const ws = path.join(root, 'workspace');
    const host = path.join(root, 'host');
    await fs.mkdir(path.join(ws, 'sub'), { recursive: true });
    await fs.mkdir(host);
    await fs.writeFile(path.join(host, 'big'), Buffer.alloc(8 * 1024 * 1024, 1));
    // A sandbox process flipping `sub` between a directory and a symlink to the host directory.
    const flipper = spawn('bash', ['-c', `cd ${ws} && while :; do rm -rf sub; ln -s ${host} sub; rm -f sub; mkdir sub; done`], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 300; i++) expect(await diskUsage(ws)).toBeLessThan(1024 * 1024);
    } finally {
      flipper.kill('SIGKILL');
    }
  });
});

// Through a real server: four sessions each run a bash call that leaves a loop swapping files in
// /mnt/session/outputs for FIFOs and back. Every turn must end, the server must keep serving
// file operations, and a SIGTERM must stop it.
describe('a sandbox racing output capture', () => {
  let h: ServerHarness | undefined;
  afterAll(async () => {
    if (h && h.p.proc.exitCode === null) await h.p.kill();
    await h?.model.close();
  });

  it('cannot stall turns, the Files API or shutdown', { timeout: 180_000 }, async () => {
    h = await harness();
    const loop =
      'cd /mnt/session/outputs && for i in 1 2 3 4 5 6 7 8; do echo x > f$i; done; ' +
      "nohup bash -c 'while :; do for i in 1 2 3 4 5 6 7 8; do rm -f f$i; mkfifo f$i; done; sleep 0.02; " +
      "for i in 1 2 3 4 5 6 7 8; do rm -f f$i; echo x$RANDOM > f$i; done; sleep 0.02; done' >/dev/null 2>&1 & echo started";
    h.model.setFallback((req) => {
      const last = req.body.messages.at(-1);
      const said = last.role === 'user' && last.content.some?.((b: any) => b.type === 'text' && b.text === 'start');
      return said ? { content: [{ type: 'tool_use', name: 'bash', input: { command: loop } }] } : { content: [{ type: 'text', text: 'ok' }] };
    });
    const ids = await Promise.all(Array.from({ length: 4 }, () => newSession(h!, { tools: [{ type: 'agent_toolset_20260401' }] })));
    await Promise.all(
      ids.map(async (id) => {
        await say(h!.client, id, 'start');
        for (let turn = 1; turn <= 3; turn++) {
          await waitForIdle(h!.client, id, turn, 60_000);
          if (turn < 3) await say(h!.client, id, 'again');
        }
      }),
    );
    for (const id of ids) {
      const started = (await events(h.client, id)).filter((e) => e.type === 'agent.tool_result');
      expect(started.map((e) => [e.is_error, (e as any).content[0]?.text])).toEqual([[false, 'started']]);
    }
    const up = await h.client.beta.files.upload({ file: await toFile(Buffer.from('still serving'), 'alive.txt', { type: 'text/plain' }) });
    expect(await (await h.client.beta.files.download(up.id)).text()).toBe('still serving');
    // Capture went on while the files flipped: what it took are the regular files' contents.
    let captured = 0;
    for (const id of ids) {
      for await (const f of h.client.beta.files.list({ scope_id: id } as any)) {
        captured++;
        expect(await (await h.client.beta.files.download(f.id)).text()).toMatch(/^x\d*\n$/);
      }
    }
    expect(captured).toBeGreaterThan(0);
    await h.p.stop();
    expect(h.p.proc.exitCode).toBe(0);
    expect(h.p.output()).toContain('shutting down');
  });
});
