import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { AgentMethod, AgentResponse } from '../tools/agent/protocol.js';
import { messageOf } from '../error-info.js';

type Result = AgentResponse['result'];

/**
 * The largest reply the agent can legitimately send: a 5 MiB image read, base64 in JSON. Anything
 * longer is not the agent speaking, so the sandbox is killed rather than buffered.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Lines of the sandbox's stderr kept for the exit message, and the length each is cut to. */
const STDERR_LINES = 20;
const STDERR_LINE_BYTES = 2048;

/**
 * Splits a byte stream into lines without ever holding more than `max` bytes of one line. An
 * over-long line is reported once through `onOverflow`, and its bytes are dropped up to its end.
 */
export function boundedLines(input: Readable, max: number, onLine: (line: string) => void, onOverflow: () => void): void {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  input.on('data', (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (!skipping) {
        if (size + (end - start) > max) {
          skipping = true;
          parts = [];
          size = 0;
          onOverflow();
        } else if (end > start) {
          parts.push(chunk.subarray(start, end));
          size += end - start;
        }
      }
      if (nl < 0) return;
      if (!skipping) onLine(Buffer.concat(parts, size).toString('utf8'));
      parts = [];
      size = 0;
      skipping = false;
      start = nl + 1;
    }
  });
  input.on('error', () => {});
}

const errorResult = (text: string): Result => ({ is_error: true, content: [{ type: 'text', text: `Error: ${text}` }] });

/**
 * Requests to the tool agent over its stdin/stdout; the agent answers each by id. The agent runs
 * where a session's processes also run, so whatever comes back is treated as untrusted input: a
 * frame is bounded, every call has a deadline, and a reply that breaks the protocol kills the
 * sandbox (the session gets a fresh one) instead of reaching the rest of the server.
 */
export class AgentChannel {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: Result) => void; timer: NodeJS.Timeout }>();
  private gone?: string;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    private readonly log: Logger,
    private readonly opts: { readyTimeoutMs?: number } = {},
  ) {
    let markReady!: () => void;
    let failReady!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((markReady = resolve), (failReady = reject)));
    this.ready.catch(() => {});
    const readyTimer = setTimeout(() => this.violation('the sandbox did not start in time'), opts.readyTimeoutMs ?? 30_000);
    void this.ready.then(
      () => clearTimeout(readyTimer),
      () => clearTimeout(readyTimer),
    );
    const stderr: string[] = [];
    boundedLines(
      child.stderr!,
      STDERR_LINE_BYTES,
      (line) => {
        stderr.push(line);
        if (stderr.length > STDERR_LINES) stderr.shift();
        log.debug({ line }, 'sandbox stderr');
      },
      () => undefined,
    );
    boundedLines(
      child.stdout!,
      MAX_FRAME_BYTES,
      (line) => {
        try {
          this.onFrame(line, markReady);
        } catch (err) {
          this.violation(`a reply could not be handled: ${messageOf(err)}`);
        }
      },
      () => this.violation(`a reply was longer than ${MAX_FRAME_BYTES} bytes`),
    );
    child.stdin!.on('error', () => {});
    // A spawn failure (no bwrap, EAGAIN) is reported as an exit, never as an uncaught 'error'.
    child.on('error', (err) => {
      log.warn({ err }, 'sandbox process error');
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined)
        this.finish(`the sandbox could not be started: ${err.message}`, stderr, failReady);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.finish(`the sandbox exited (${signal ?? `code ${code}`})`, stderr, failReady);
        resolve();
      });
      child.once('error', () => {
        if (child.pid === undefined) resolve();
      });
    });
  }

  private onFrame(line: string, markReady: () => void): void {
    if (!line) return;
    const msg = JSON.parse(line) as AgentResponse;
    if (typeof msg !== 'object' || msg === null || !Number.isInteger(msg.id)) throw new Error('a reply has no id');
    if (msg.id === 0) return markReady();
    const entry = this.pending.get(msg.id);
    if (!entry) throw new Error(`a reply answers no pending call (${msg.id})`);
    const r = msg.result;
    if (typeof r !== 'object' || r === null || typeof r.is_error !== 'boolean' || !Array.isArray(r.content)) throw new Error('a reply is not a tool result');
    this.pending.delete(msg.id);
    clearTimeout(entry.timer);
    entry.resolve({ is_error: r.is_error, content: r.content });
  }

  /** The agent broke the protocol: nothing more it says can be trusted, so the sandbox goes. */
  private violation(reason: string): void {
    if (this.gone) return;
    this.log.warn({ reason }, 'sandbox channel violation; killing the sandbox');
    this.kill(`the sandbox was stopped: ${reason}`);
  }

  private kill(reason: string): void {
    for (const { resolve, timer } of this.pending.values()) {
      clearTimeout(timer);
      resolve(errorResult(reason));
    }
    this.pending.clear();
    this.gone ??= reason;
    try {
      this.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }

  private finish(reason: string, stderr: string[], failReady: (e: Error) => void): void {
    const full = `${reason}${stderr.length ? `: ${stderr.join(' | ')}` : ''}`;
    this.gone ??= full;
    failReady(new Error(this.gone));
    for (const { resolve, timer } of this.pending.values()) {
      clearTimeout(timer);
      resolve(errorResult(this.gone));
    }
    this.pending.clear();
  }

  /**
   * One call with a deadline: past `timeoutMs` the caller gets an error and the sandbox is
   * killed, since an agent that stopped answering cannot be told apart from a hijacked one.
   */
  call(method: AgentMethod, params: Record<string, unknown>, timeoutMs: number): Promise<Result> {
    if (this.gone) return Promise.resolve(errorResult(this.gone));
    const id = this.next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.pending.has(id)) return;
        this.violation(`the ${method} call got no answer within ${Math.round(timeoutMs / 1000)} s`);
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, timer });
      this.child.stdin!.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.gone) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
