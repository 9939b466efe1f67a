/**
 * The tool agent: runs INSIDE a session's sandbox (as `node agent.js '<AgentConfig json>'`) and
 * implements bash, read, write, edit, glob and grep there, so every file access happens with the
 * sandbox's view of the filesystem and its unprivileged user. It may import Node built-ins only:
 * nothing else of Paddock is visible inside the sandbox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { AgentBlock, AgentConfig, AgentRequest, AgentResponse } from './protocol.js';

type Result = AgentResponse['result'];

const config = JSON.parse(process.argv[2] ?? '{}') as AgentConfig;
const BASH_DEFAULT_TIMEOUT_MS = config.timeouts.bashDefaultMs;
const BASH_MAX_TIMEOUT_MS = config.timeouts.bashMaxMs;
const SEARCH_TIMEOUT_MS = config.timeouts.searchMs;
const OUTPUT_CAP = 100 * 1024;
const MAX_FILE_BYTES = 256 * 1024;
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const GLOB_LIMIT = 200;
const GLOB_WALK_CAP = 50_000;
const SKIP_DIRS = new Set(['.git', 'node_modules']);

const text = (t: string, is_error = false): Result => ({ is_error, content: [{ type: 'text', text: t }] });
const fail = (t: string): Result => text(t, true);

class ToolError extends Error {}

// ---------------------------------------------------------------------------------------------
// bash: one persistent shell; each command is sourced from a script file so cwd and env persist.

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

class Shell {
  private proc?: ChildProcess;
  private buf = '';
  private dropped = 0;
  private seq = 0;
  private readonly nonce = randomBytes(8).toString('hex');
  private waiter?: (exit: { code: number | null; died: boolean }) => void;
  /** Set by the watchdog when the sandbox ran out of processes during the current command. */
  private runaway = false;
  /** A runaway found between commands, reported with the next result. */
  private note = '';
  /** Killed processes are reaped asynchronously; a new shell waits until they are gone. */
  private settling?: Promise<void>;
  /** Counts kills, so a command that was cancelled while waiting to start is not started. */
  private kills = 0;

  private start(): ChildProcess {
    const l = config.limits;
    // Limits go on the shell (and so on everything it starts), not on the agent itself. Bash's
    // `ulimit -f` counts 1024-byte blocks (512 only in POSIX mode, which this shell is not in).
    const ulimits = `ulimit -S -H -v ${l.memoryKib} -t ${l.cpuSeconds} -f ${Math.ceil(l.fileSizeBytes / 1024)} 2>/dev/null; exec /bin/bash --noprofile --norc`;
    const [cmd, ...prefix] = [...config.shellPrefix, '/bin/bash'];
    const proc = spawn(cmd, [...prefix, '--noprofile', '--norc', '-c', ulimits], {
      cwd: config.workspace,
      env: config.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const onData = (d: Buffer) => this.onOutput(d.toString('utf8'));
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.stdin!.on('error', () => {});
    proc.on('exit', () => {
      // A shell killed on purpose was already replaced; only the current one's death matters.
      if (this.proc !== proc) return;
      this.proc = undefined;
      const w = this.waiter;
      this.waiter = undefined;
      w?.({ code: null, died: true });
    });
    this.proc = proc;
    return proc;
  }

  private onOutput(chunk: string): void {
    this.buf += chunk;
    const m = this.buf.match(new RegExp(`\\n?__PADDOCK_${this.nonce}_${this.seq} (\\d+)\\n`));
    if (m && this.waiter) {
      this.buf = this.buf.slice(0, m.index);
      const w = this.waiter;
      this.waiter = undefined;
      w({ code: Number(m[1]), died: false });
      return;
    }
    // Keep a bounded tail; the marker is always at the very end.
    if (this.buf.length > OUTPUT_CAP * 2) {
      const cut = this.buf.length - OUTPUT_CAP - 256;
      this.dropped += cut;
      this.buf = this.buf.slice(cut);
    }
  }

  /** Kills the shell and everything it started. */
  kill(): void {
    this.kills++;
    const proc = this.proc;
    this.proc = undefined;
    if (config.ownsPidNamespace) {
      killAllButMe();
      this.settling = settle();
    } else if (proc?.pid) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ code: null, died: true });
  }

  async run(command: string, timeoutMs: number): Promise<Result> {
    const kills = this.kills;
    await this.settling;
    if (this.kills !== kills) return fail('bash: the command was cancelled before it started');
    this.settling = undefined;
    const proc = this.proc ?? this.start();
    const n = ++this.seq;
    this.buf = '';
    this.dropped = 0;
    const done = new Promise<{ code: number | null; died: boolean; timedOut?: boolean }>((resolve) => (this.waiter = resolve));
    // The command travels inline rather than as a script file: a command that filled /tmp (or
    // any disk) must not be able to stop the next one from being delivered.
    proc.stdin!.write(`eval ${ansiQuoted(command)} </dev/null 2>&1; printf '\\n__PADDOCK_${this.nonce}_${n} %d\\n' $?\n`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ code: null; died: false; timedOut: true }>((resolve) => {
      timer = setTimeout(() => resolve({ code: null, died: false, timedOut: true }), timeoutMs);
    });
    this.runaway = false;
    const outcome = await Promise.race([done, timeout]);
    clearTimeout(timer);
    const output = this.takeOutput();
    if (this.runaway) {
      return fail(
        `bash: the command hit the sandbox's process limit (${config.limits.processes}); every process in the sandbox was killed and the shell restarted` +
          (output ? `\n${output}` : ''),
      );
    }
    if (outcome.timedOut) {
      this.kill();
      return fail(`bash: bash command timed out after ${timeoutMs}ms; the shell was restarted` + (output ? `\n${output}` : ''));
    }
    if (outcome.died) return fail(`bash: bash session terminated` + (output ? `\n${output}` : ''));
    if (outcome.code !== 0) return fail(output || `exit ${outcome.code}`);
    return text(output || '(no output)');
  }

  private takeOutput(): string {
    let out = this.buf.replace(ANSI, '').replace(/\n+$/, '');
    let truncated = this.dropped > 0;
    if (out.length > OUTPUT_CAP) {
      out = out.slice(out.length - OUTPUT_CAP);
      truncated = true;
    }
    this.buf = '';
    return truncated ? `[output truncated]\n${out}` : out;
  }

  restart(): void {
    this.kill();
  }

  /** The sandbox is at its process limit: kill everything so the session can go on. */
  onRunaway(): void {
    if (this.waiter) this.runaway = true;
    else
      this.note = `[paddock] background processes hit the sandbox's process limit (${config.limits.processes}); every process in the sandbox was killed and the shell restarted\n`;
    this.kill();
  }

  takeNote(): string {
    const n = this.note;
    this.note = '';
    return n;
  }
}

/**
 * `command` as one bash word, `$'…'` with every byte that is not plain printable ASCII escaped:
 * the line the shell reads stays one line, and no quoting in the command can end the word early.
 * NUL cannot be in a bash string and is dropped (as bash drops it from a script).
 */
function ansiQuoted(command: string): string {
  let out = "$'";
  for (const b of Buffer.from(command, 'utf8')) {
    if (b === 0) continue;
    const plain = b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c;
    out += plain ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0');
  }
  return out + "'";
}

/** Tasks in the sandbox as RLIMIT_NPROC counts them: processes, plus the agent's own threads. */
function processCount(): number {
  if (!config.ownsPidNamespace) return 0;
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length + readdirSync('/proc/self/task').length - 1;
  } catch {
    return 0;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 40 && processCount() > 24; i++) {
    killAllButMe();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** kill(-1): every process this user can signal in the sandbox except the agent and pid 1. */
function killAllButMe(): void {
  try {
    process.kill(-1, 'SIGKILL');
  } catch {
    /* nothing left */
  }
}

const shell = new Shell();

// A fork bomb may outlive the command that started it: watch the whole sandbox, not one call.
if (config.ownsPidNamespace) {
  setInterval(() => {
    if (processCount() >= config.limits.processes - 8) shell.onRunaway();
  }, 250).unref();
}

async function bash(p: Record<string, unknown>): Promise<Result> {
  if (p.restart === true) {
    shell.restart();
    if (typeof p.command !== 'string' || !p.command.trim()) return text('bash session restarted');
  }
  if (typeof p.command !== 'string' || !p.command.trim()) return fail('bash: command is required');
  let timeout = BASH_DEFAULT_TIMEOUT_MS;
  if (p.timeout_ms !== undefined) {
    if (typeof p.timeout_ms !== 'number' || !Number.isInteger(p.timeout_ms) || p.timeout_ms < 1) return fail('bash: timeout_ms must be a positive integer');
    timeout = Math.min(p.timeout_ms, BASH_MAX_TIMEOUT_MS);
  }
  const note = shell.takeNote();
  const r = await shell.run(p.command, timeout);
  if (note && r.content[0]?.type === 'text') r.content[0].text = note + r.content[0].text;
  return r;
}

// ---------------------------------------------------------------------------------------------
// file tools

function filePath(p: Record<string, unknown>, tool: string, field = 'file_path'): string {
  const v = p[field];
  if (typeof v !== 'string' || !v) throw new ToolError(`${tool}: ${field} is required`);
  return path.resolve(config.workspace, v);
}

function describe(err: unknown, tool: string, file: string): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system (write under /workspace or /mnt/session/outputs)',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
    EFBIG: 'file too large for the sandbox disk quota',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
  };
  if (err instanceof ToolError) return err.message;
  return `${tool}: ${file}: ${(e.code && reasons[e.code]) || e.message}`;
}

const IMAGE_TYPES: Array<[string, (b: Buffer) => boolean]> = [
  ['image/png', (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))],
  ['image/jpeg', (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['image/gif', (b) => b.subarray(0, 4).toString('latin1') === 'GIF8'],
  ['image/webp', (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP'],
];

function lineRange(p: Record<string, unknown>): [number, number] | undefined {
  if (Array.isArray(p.view_range)) {
    const [s, e] = p.view_range;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 1)
      throw new ToolError('read: view_range must be [start, end], 1-indexed; end <= 0 means end of file');
    return [s, e];
  }
  if (p.offset !== undefined || p.limit !== undefined) {
    const off = p.offset === undefined ? 1 : p.offset;
    const lim = p.limit === undefined ? 0 : p.limit;
    if (!Number.isInteger(off) || (off as number) < 1 || !Number.isInteger(lim) || (lim as number) < 0) {
      throw new ToolError('read: offset must be a 1-indexed line number and limit a non-negative line count');
    }
    return [off as number, lim === 0 ? 0 : (off as number) + (lim as number) - 1];
  }
  return undefined;
}

async function read(p: Record<string, unknown>): Promise<Result> {
  const file = filePath(p, 'read');
  try {
    const range = lineRange(p);
    const st = await fs.stat(file);
    if (!st.isFile()) return fail(`read: ${file}: not a regular file`);
    const head = Buffer.alloc(16);
    const fh = await fs.open(file, 'r');
    try {
      await fh.read(head, 0, 16, 0);
    } finally {
      await fh.close();
    }
    const image = IMAGE_TYPES.find(([, is]) => is(head));
    if (image) {
      if (st.size > MAX_IMAGE_BYTES) return fail(`read: ${file}: image is ${st.size} bytes; the limit is ${MAX_IMAGE_BYTES}`);
      const data = (await fs.readFile(file)).toString('base64');
      const block: AgentBlock = { type: 'image', source: { type: 'base64', media_type: image[0], data } };
      return { is_error: false, content: [block] };
    }
    if (!range && st.size > MAX_FILE_BYTES) {
      return fail(`read: ${file}: file is ${st.size} bytes, larger than ${MAX_FILE_BYTES}; pass view_range to read part of it`);
    }
    const buf = await fs.readFile(file);
    if (buf.subarray(0, 8192).includes(0)) return fail(`read: ${file}: binary file; use bash to inspect it`);
    let out = buf.toString('utf8');
    if (range) {
      const lines = out.split('\n');
      const end = range[1] <= 0 ? lines.length : Math.min(range[1], lines.length);
      out = lines.slice(range[0] - 1, end).join('\n');
      if (Buffer.byteLength(out) > MAX_FILE_BYTES)
        return fail(`read: ${file}: the requested range is larger than ${MAX_FILE_BYTES} bytes; ask for fewer lines`);
    }
    return text(out);
  } catch (err) {
    return fail(describe(err, 'read', file));
  }
}

async function atomicWrite(file: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    let mode = 0o644;
    try {
      mode = (await fs.stat(file)).mode & 0o7777;
    } catch {
      /* new file */
    }
    await fs.writeFile(tmp, content, { mode });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

async function write(p: Record<string, unknown>): Promise<Result> {
  const file = filePath(p, 'write');
  if (typeof p.content !== 'string') return fail('write: content is required');
  try {
    if (Buffer.byteLength(p.content) > config.limits.fileSizeBytes) throw Object.assign(new Error('too large'), { code: 'EFBIG' });
    await atomicWrite(file, p.content);
    return text(`wrote ${Buffer.byteLength(p.content)} bytes to ${file}`);
  } catch (err) {
    return fail(describe(err, 'write', file));
  }
}

async function edit(p: Record<string, unknown>): Promise<Result> {
  const file = filePath(p, 'edit');
  const { old_string: oldS, new_string: newS } = p;
  if (typeof oldS !== 'string' || !oldS) return fail('edit: old_string is required');
  if (typeof newS !== 'string') return fail('edit: new_string is required');
  if (oldS === newS) return fail('edit: old_string and new_string are identical; nothing to change');
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) return fail(`edit: ${file}: not a regular file`);
    if (st.size > MAX_FILE_BYTES) return fail(`edit: ${file}: file is larger than ${MAX_FILE_BYTES} bytes; use bash to change it`);
    const before = await fs.readFile(file, 'utf8');
    const count = before.split(oldS).length - 1;
    if (count === 0) return fail(`edit: old_string was not found in ${file}`);
    if (count > 1 && p.replace_all !== true) {
      return fail(`edit: old_string appears ${count} times in ${file}; add surrounding context to make it unique, or pass replace_all: true`);
    }
    const after = p.replace_all === true ? before.split(oldS).join(newS) : before.replace(oldS, () => newS);
    await atomicWrite(file, after);
    return text(`edited ${file} (${count} replacement${count === 1 ? '' : 's'})`);
  } catch (err) {
    return fail(describe(err, 'edit', file));
  }
}

/** Glob syntax (`*`, `**`, `?`, `[...]`, `{a,b}`) to a RegExp over `/`-separated relative paths. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          glob
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else if (c === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end < 0) re += '\\{';
      else {
        re +=
          '(?:' +
          glob
            .slice(i + 1, end)
            .split(',')
            .map((alt) => globToRegExp(alt).source.slice(1, -1))
            .join('|') +
          ')';
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function glob(p: Record<string, unknown>): Promise<Result> {
  const pattern = p.pattern;
  if (typeof pattern !== 'string' || !pattern) return fail('glob: pattern is required');
  if (path.isAbsolute(pattern) || pattern.split('/').includes('..'))
    return fail('glob: pattern must be relative and must not contain ".."; pass path to search elsewhere');
  const root = typeof p.path === 'string' && p.path ? path.resolve(config.workspace, p.path) : config.workspace;
  const re = globToRegExp(pattern);
  const hits: Array<{ file: string; mtime: number }> = [];
  let walked = 0;
  const deadline = Date.now() + SEARCH_TIMEOUT_MS;
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === root) throw err;
      return;
    }
    for (const e of entries) {
      if (++walked > GLOB_WALK_CAP || Date.now() > deadline) return;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(abs, r);
      } else if (re.test(r)) {
        const st = await fs.stat(abs).catch(() => undefined);
        if (st) hits.push({ file: abs, mtime: st.mtimeMs });
      }
    }
  };
  try {
    await walk(root, '');
  } catch (err) {
    return fail(describe(err, 'glob', root));
  }
  if (!hits.length) return text('no matches');
  hits.sort((a, b) => b.mtime - a.mtime);
  const lines = hits.slice(0, GLOB_LIMIT).map((h) => h.file);
  if (hits.length > GLOB_LIMIT) lines.push(`(showing the ${GLOB_LIMIT} most recently modified of ${hits.length} matches)`);
  if (walked > GLOB_WALK_CAP) lines.push(`(stopped after ${GLOB_WALK_CAP} entries; narrow the path)`);
  else if (Date.now() > deadline) lines.push(`(stopped after ${SEARCH_TIMEOUT_MS / 1000} s; narrow the path)`);
  return text(lines.join('\n'));
}

async function grep(p: Record<string, unknown>, signal: { child?: ChildProcess }): Promise<Result> {
  if (typeof p.pattern !== 'string' || !p.pattern) return fail('grep: pattern is required');
  const target = typeof p.path === 'string' && p.path ? path.resolve(config.workspace, p.path) : config.workspace;
  const args = ['-n', '--no-heading', '--color', 'never', '--hidden', '-g', '!.git', '--max-columns', '2000', '-e', p.pattern, '--', target];
  return new Promise((resolve) => {
    const child = spawn('rg', args, { cwd: config.workspace, env: config.env, stdio: ['ignore', 'pipe', 'pipe'] });
    signal.child = child;
    let out = '';
    let err = '';
    let truncated = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, SEARCH_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < OUTPUT_CAP) out += d.toString('utf8');
      else if (!truncated) {
        truncated = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < OUTPUT_CAP) err += d.toString('utf8');
    });
    child.on('error', (e) => resolve(fail(`grep: could not run ripgrep: ${e.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return resolve(fail(`grep: stopped after ${SEARCH_TIMEOUT_MS / 1000} s; narrow the path or the pattern`));
      if (truncated) return resolve(text(out.slice(0, OUTPUT_CAP).replace(/\n[^\n]*$/, '') + '\n[output truncated]'));
      if (code === 1 && !out) return resolve(text('no matches'));
      if (code !== 0 && code !== 1) return resolve(fail(`grep: ${err.trim() || `ripgrep exited with ${code}`}`));
      resolve(text(out.replace(/\n+$/, '')));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// egress bridge: 127.0.0.1:<proxyPort> inside the network namespace → the proxy's unix socket.

function startBridge(): void {
  if (!config.proxySocket || !config.proxyPort) return;
  const socketPath = config.proxySocket;
  net
    .createServer((client) => {
      const upstream = net.connect(socketPath);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    })
    .listen(config.proxyPort, '127.0.0.1');
}

// ---------------------------------------------------------------------------------------------

const running = new Map<number, { child?: ChildProcess }>();

async function handle(req: AgentRequest): Promise<Result> {
  const p = req.params ?? {};
  switch (req.method) {
    case 'ping':
      return text('pong');
    case 'bash':
      return bash(p);
    case 'read':
      return read(p);
    case 'write':
      return write(p);
    case 'edit':
      return edit(p);
    case 'glob':
      return glob(p);
    case 'grep': {
      const slot: { child?: ChildProcess } = {};
      running.set(req.id, slot);
      try {
        return await grep(p, slot);
      } finally {
        running.delete(req.id);
      }
    }
    case 'cancel':
      // Interrupts stop whatever runs: the shell (restarted lazily) and any ripgrep.
      shell.kill();
      for (const slot of running.values()) slot.child?.kill('SIGKILL');
      return text('cancelled');
    default:
      return fail(`unknown method ${String(req.method)}`);
  }
}

function send(res: AgentResponse): void {
  process.stdout.write(JSON.stringify(res) + '\n');
}

async function main(): Promise<void> {
  startBridge();
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let req: AgentRequest;
    try {
      req = JSON.parse(line) as AgentRequest;
    } catch {
      return;
    }
    void handle(req)
      .catch((err: unknown) => fail(`Error: ${(err as Error).message}`))
      .then((result) => send({ id: req.id, result }));
  });
  rl.on('close', () => {
    shell.kill();
    process.exit(0);
  });
  send({ id: 0, result: text('ready') });
}

void main();
