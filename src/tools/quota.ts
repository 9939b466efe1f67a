import type { SessionDirs } from '../sandbox/types.js';
import { diskUsage } from './outputs.js';

const POLL_MS = 1000;

/** A running command's quota check; `over` is the usage that stopped it, or 0. */
export interface QuotaWatch {
  readonly over: number;
  stop(): void;
}

/**
 * The workspace disk quota (workspace plus outputs) of each session. A command is stopped for
 * growing the workspace past the quota, never for finding it already over: a session over its
 * quota must be able to delete files, however long the deleting takes.
 */
export class WorkspaceQuota {
  /** Bytes each session used when last measured: what the next command starts from. */
  private readonly lastUsed = new Map<string, number>();

  constructor(readonly quotaMib: number) {}

  private get quotaBytes(): number {
    return this.quotaMib * 1024 * 1024;
  }

  async used(sessionId: string, dirs: SessionDirs): Promise<number> {
    const used = await measure(dirs);
    this.lastUsed.set(sessionId, used);
    return used;
  }

  isOver(used: number): boolean {
    return used > this.quotaBytes;
  }

  /** How far a command starting now may fill the workspace: the quota, or what it holds already if more. */
  async allowance(sessionId: string, dirs: SessionDirs): Promise<number> {
    const start = this.lastUsed.get(sessionId) ?? (await this.used(sessionId, dirs));
    return Math.max(this.quotaBytes, start);
  }

  /**
   * Measures while a command runs and calls `stop` once when usage passes `allowance`. One
   * measurement at a time, and none after `stop()`: a late one must not stop the next command.
   */
  watch(sessionId: string, dirs: SessionDirs, allowance: number, stop: () => void): QuotaWatch {
    let over = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      const used = await measure(dirs);
      if (done) return;
      this.lastUsed.set(sessionId, used);
      if (used > allowance) {
        over = used;
        done = true;
        stop();
        return;
      }
      timer = setTimeout(() => void tick(), POLL_MS);
    };
    timer = setTimeout(() => void tick(), POLL_MS);
    return {
      get over() {
        return over;
      },
      stop() {
        done = true;
        clearTimeout(timer);
      },
    };
  }

  forget(sessionId: string): void {
    this.lastUsed.delete(sessionId);
  }

  exceeded(used: number): string {
    return `[paddock] the workspace disk quota is exceeded (${mib(used)} MiB used of ${this.quotaMib} MiB); the command was stopped. Delete files to continue.`;
  }

  stillOver(used: number): string {
    return `[paddock] the workspace is still over its disk quota (${mib(used)} MiB used of ${this.quotaMib} MiB); delete files to continue.`;
  }
}

async function measure(dirs: SessionDirs): Promise<number> {
  return (await diskUsage(dirs.workspace)) + (await diskUsage(dirs.outputs));
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
