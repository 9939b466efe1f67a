import { promises as fs } from 'node:fs';
import { repositoriesDir } from '../sandbox/git/repositories.js';
import type { SessionDirs } from '../sandbox/types.js';
import { diskUsage } from './outputs.js';

/** How often the directory-mode guard measures a live sandbox's disk use. */
const POLL_MS = 1000;
/** A volume with less room than this left counts as full: the next write would fail. */
const FULL_SLACK_BYTES = 1024 * 1024;

export interface DiskState {
  used: number;
  /** No more room: on a volume, the kernel refuses writes; on plain directories, usage passed the quota. */
  full: boolean;
}

/** A live sandbox's quota guard. */
export interface QuotaGuard {
  stop(): void;
}

/**
 * The disk quota of a session's workspace plus outputs. On a session volume (src/sandbox/volume.ts)
 * the filesystem's size is the quota and the kernel enforces it; this class only reports it. On
 * plain directories a guard measures while the sandbox lives and stops every process in it when
 * usage grows past the quota (so background writers can exceed it by at most what they write in
 * one poll interval). Either way a session over its quota can still delete files.
 */
export class WorkspaceQuota {
  /** Bytes each session used when last measured. */
  private readonly lastUsed = new Map<string, number>();

  constructor(readonly quotaMib: number) {}

  private get quotaBytes(): number {
    return this.quotaMib * 1024 * 1024;
  }

  async measure(sessionId: string, dirs: SessionDirs): Promise<DiskState> {
    let state: DiskState;
    if (dirs.volume) {
      const st = await fs.statfs(dirs.volume.mountPoint);
      state = { used: (st.blocks - st.bfree) * st.bsize, full: st.bavail * st.bsize < FULL_SLACK_BYTES };
    } else {
      // Cloned repositories are mounted read-write: they count too.
      const used = (await diskUsage(dirs.workspace)) + (await diskUsage(dirs.outputs)) + (await diskUsage(repositoriesDir(dirs)));
      state = { used, full: used > this.quotaBytes };
    }
    this.lastUsed.set(sessionId, state.used);
    return state;
  }

  /** Usage when last measured, without measuring again (or measured now if never). */
  async lastMeasured(sessionId: string, dirs: SessionDirs): Promise<number> {
    return this.lastUsed.get(sessionId) ?? (await this.measure(sessionId, dirs)).used;
  }

  /**
   * Directory mode only: measures while the sandbox lives and calls `stop` whenever usage is over
   * the quota and still growing. One measurement at a time, none after `stop()`.
   */
  guard(sessionId: string, dirs: SessionDirs, stop: () => void): QuotaGuard {
    if (dirs.volume) return { stop: () => undefined };
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let previous = this.lastUsed.get(sessionId) ?? 0;
    const tick = async (): Promise<void> => {
      const state = await this.measure(sessionId, dirs).catch(() => undefined);
      if (done) return;
      if (state) {
        if (state.full && state.used > previous) stop();
        previous = state.used;
      }
      timer = setTimeout(() => void tick(), POLL_MS);
      timer.unref();
    };
    timer = setTimeout(() => void tick(), POLL_MS);
    timer.unref();
    return {
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
    return `[paddock] the workspace disk quota is exceeded (${mib(used)} MiB used of ${this.quotaMib} MiB); writing stopped. Delete files to continue.`;
  }

  stillOver(used: number): string {
    return `[paddock] the workspace is still at its disk quota (${mib(used)} MiB used of ${this.quotaMib} MiB); delete files to continue.`;
  }
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
