import type { ServerResponse } from 'node:http';

export interface OutboxOptions {
  /** Bytes of frames (previews, the final frame) that may wait behind a socket that is not taking them. */
  maxBufferBytes: number;
  /** A socket that takes no byte for this long, while frames wait, is given up on. */
  stallMs: number;
  /**
   * Writes the log's next events with `write`; answers true once the log is caught up, false when
   * it stopped because the socket is full (it is called again once the socket drains).
   */
  readLog(write: (chunk: string) => boolean): Promise<boolean>;
  /** The client stopped reading: its buffer overflowed, or its socket took nothing for `stallMs`. */
  onStalled(why: 'overflow' | 'stalled'): void;
  onError(err: unknown): void;
}

type Item = { kind: 'log' } | { kind: 'frame'; text: string } | { kind: 'then'; fn: () => void };

/**
 * The sending side of one event stream, bounded whatever the client does. Frames go out in the
 * order they were given; the log is read only as fast as the socket takes bytes (log events are
 * never held for a slow client: the stream's cursor stays, and the log is read again after the
 * socket drains); what has to wait (previews, which are not in the log) is bounded by bytes. A
 * client that stops reading is told apart from a slow one by progress: bytes leaving the buffer.
 * One that overflows its buffer, or takes nothing for `stallMs`, is given up on (`onStalled`);
 * it resumes from the log with Last-Event-ID and loses nothing.
 */
export class StreamOutbox {
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private pumping = false;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: OutboxOptions,
  ) {}

  /** The log grew: read it after what is already queued. */
  log(): void {
    if (this.closed) return;
    // One pending read covers any number of notifications (a read in progress does not: it may
    // have read the log before the newest append).
    if (this.queue.at(-1)?.kind !== 'log') this.queue.push({ kind: 'log' });
    this.pump();
  }

  /** A frame to send after what is queued; over the buffer bound, the stream is given up on. */
  frame(text: string): void {
    if (this.closed) return;
    if (this.queuedBytes + text.length > this.opts.maxBufferBytes) return this.stall('overflow');
    this.queue.push({ kind: 'frame', text });
    this.queuedBytes += text.length;
    this.pump();
  }

  /** A keep-alive: written only when nothing waits (a stream with bytes on their way needs none). */
  idle(text: string): void {
    if (!this.closed && !this.pumping && this.queue.length === 0 && !this.res.writableNeedDrain) this.res.write(text);
  }

  /** Runs `fn` once everything queued before it went out (to end the stream after a last frame). */
  afterQueued(fn: () => void): void {
    this.queue.push({ kind: 'then', fn });
    this.pump();
  }

  /** Stops sending; what is still queued is dropped. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private stall(why: 'overflow' | 'stalled'): void {
    if (this.closed) return;
    this.close();
    this.opts.onStalled(why);
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    void this.run();
  }

  /** Sends the queue in order; never rejects (a failure goes to `onError`). */
  private async run(): Promise<void> {
    const write = (chunk: string): boolean => {
      if (!this.closed) this.res.write(chunk);
      return !this.res.writableNeedDrain;
    };
    try {
      while (this.queue.length > 0 && !this.closed) {
        if (this.res.writableNeedDrain) {
          const drained = await this.drained();
          if (drained === 'closed') return this.close();
          if (drained === 'stalled') return this.stall('stalled');
          continue;
        }
        const item = this.queue.shift()!;
        if (item.kind === 'frame') {
          this.queuedBytes -= item.text.length;
          write(item.text);
        } else if (item.kind === 'log') {
          // Not caught up: the socket is full; the read goes on, first in line, once it drains.
          if (!(await this.opts.readLog(write))) this.queue.unshift(item);
        } else {
          item.fn();
        }
      }
    } catch (err) {
      if (!this.closed) this.opts.onError(err);
    } finally {
      // In the same turn as the loop's last check: whatever is queued after this starts a new run.
      this.pumping = false;
    }
  }

  /** Waits for the socket to drain; `stalled` if it took no byte for `stallMs`. */
  private drained(): Promise<'drained' | 'stalled' | 'closed'> {
    const res = this.res;
    return new Promise((resolve) => {
      let left = res.writableLength;
      let progressAt = Date.now();
      const check = setInterval(
        () => {
          if (res.writableLength < left) progressAt = Date.now();
          left = res.writableLength;
          if (Date.now() - progressAt >= this.opts.stallMs) done('stalled');
        },
        Math.max(10, Math.min(1000, this.opts.stallMs / 4)),
      );
      const onDrain = () => done('drained');
      const onClose = () => done('closed');
      function done(how: 'drained' | 'stalled' | 'closed') {
        clearInterval(check);
        res.off('drain', onDrain);
        res.off('close', onClose);
        resolve(how);
      }
      res.on('drain', onDrain);
      res.on('close', onClose);
    });
  }
}
