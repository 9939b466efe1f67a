import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { Logger } from 'pino';
import type { AgentMethod, AgentResponse } from '../tools/agent/protocol.js';

type Result = AgentResponse['result'];

/** Requests to the tool agent over its stdin/stdout; the agent answers each by id. */
export class AgentChannel {
  private next = 1;
  private readonly pending = new Map<number, (r: Result) => void>();
  private gone?: string;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    log: Logger,
  ) {
    let markReady!: () => void;
    let failReady!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((markReady = resolve), (failReady = reject)));
    this.ready.catch(() => {});
    const stderr: string[] = [];
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 20) stderr.shift();
      log.debug({ line }, 'sandbox stderr');
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: AgentResponse;
      try {
        msg = JSON.parse(line) as AgentResponse;
      } catch {
        return;
      }
      if (msg.id === 0) return markReady();
      const done = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      done?.(msg.result);
    });
    child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.gone = `the sandbox exited (${signal ?? `code ${code}`})${stderr.length ? `: ${stderr.join(' | ')}` : ''}`;
        failReady(new Error(this.gone));
        for (const done of this.pending.values()) done({ is_error: true, content: [{ type: 'text', text: `Error: ${this.gone}` }] });
        this.pending.clear();
        resolve();
      });
    });
  }

  call(method: AgentMethod, params: Record<string, unknown>): Promise<Result> {
    if (this.gone) return Promise.resolve({ is_error: true, content: [{ type: 'text', text: `Error: ${this.gone}` }] });
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
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
