import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import type { SessionEvent } from '../domain/event-log.js';
import { newId } from '../domain/ids.js';
import { nowIso } from '../domain/time.js';
import type { BusMessage, EphemeralFrame } from '../fanout/bus.js';
import { StreamOutbox } from './sse-outbox.js';

export interface StreamOptions {
  sessionId: string;
  /** Deliver events with a sequence number above this; the log is tailed from here. */
  fromSeq: number;
  /** Preview types this connection opted into with `event_deltas[]`. */
  deltas: Set<string>;
  /** Only events of this thread (thread streams); undefined for the session stream. */
  filter?: (e: SessionEvent) => boolean;
}

function frame(type: string, data: unknown, id?: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Streams open per app, so that a shutdown can end them (they would otherwise hold it forever). */
const openStreams = new WeakMap<AppContext, Set<() => void>>();

/** How many event streams this app has open. */
export function openStreamCount(ctx: AppContext): number {
  return openStreams.get(ctx)?.size ?? 0;
}

/** Ends every open event stream of this app: clients see the stream end and may reconnect elsewhere. */
export function endStreams(ctx: AppContext): void {
  for (const end of [...(openStreams.get(ctx) ?? [])]) end();
}

/** Log events read per query while tailing: a client far behind is caught up in slices this size. */
const LOG_BATCH = 100;

/**
 * Serves a session's events as SSE: the log tailed from `fromSeq`. Every notification makes the
 * stream read the log after the last sequence it sent, so events arrive in log order with no gap
 * and no duplicate however notifications are merged or delayed. Preview frames ride the same
 * ordered outbox, so they can never overtake the event that announced their model request; only
 * streams that asked for a preview type queue its frames. The outbox bounds what a client that
 * stops reading can cost (sse-outbox.ts): such a stream is closed, and its client resumes with
 * Last-Event-ID.
 */
export function streamSession(ctx: AppContext, req: FastifyRequest, reply: FastifyReply, opts: StreamOptions): void {
  const res = reply.raw;
  let cursor = opts.fromSeq;
  let closed = false;
  /** Messages being previewed to this stream; each is dropped when its event arrives from the log. */
  const openPreviews = new Set<string>();
  let open = openStreams.get(ctx);
  if (!open) openStreams.set(ctx, (open = new Set()));

  // A client that falls behind takes a few events per drain: reading the log in slices about that
  // size (doubling again while it keeps up) reads each event about once, and holds none for it.
  let slice = LOG_BATCH;
  const readLog = async (write: (chunk: string) => boolean): Promise<boolean> => {
    const limit = slice;
    const batch = await ctx.events.after(opts.sessionId, cursor, limit);
    let done = 0;
    for (const { seq, event } of batch) {
      if (closed) return true;
      cursor = seq;
      done++;
      openPreviews.delete(event.id);
      // A full socket stops the read here; the rest is read again once it drains.
      if ((!opts.filter || opts.filter(event)) && !write(frame(event.type, event, event.id))) {
        slice = Math.max(1, done * 2);
        return false;
      }
    }
    slice = Math.min(LOG_BATCH, slice * 2);
    return batch.length < limit;
  };

  const end = (how: 'end' | 'destroy' = 'end'): void => {
    if (closed) return;
    closed = true;
    open.delete(end);
    outbox.close();
    unsubscribe();
    clearInterval(ping);
    if (how === 'destroy') res.destroy();
    else res.end();
  };

  const outbox = new StreamOutbox(res, {
    maxBufferBytes: ctx.config.server.sseMaxBufferBytes,
    stallMs: ctx.config.server.sseStallMs,
    readLog,
    onStalled: (why) => {
      req.log.info({ session_id: opts.sessionId, why }, 'event stream closed: the client stopped reading');
      // Whatever is still buffered for it is dropped with the connection; it resumes from the log.
      end('destroy');
    },
    onError: (err) => {
      req.log.error({ err, session_id: opts.sessionId }, 'event stream failed');
      if (!closed && !res.writableNeedDrain)
        res.write(frame('error', { type: 'error', error: { type: 'api_error', message: 'Event stream failed; reconnect and list events to catch up.' } }));
      end();
    },
  });

  const ephemeral = (f: EphemeralFrame): void => {
    if (f.type === 'event_start') {
      const target = f.event as { type: string; id: string };
      if (!opts.deltas.has(target.type)) return;
      openPreviews.add(target.id);
    } else if (!openPreviews.has(f.event_id as string)) {
      return;
    }
    outbox.frame(frame(f.type, f));
  };

  const unsubscribe = ctx.bus.subscribe(opts.sessionId, (msg: BusMessage) => {
    if (closed) return;
    if (msg.kind === 'appended') {
      if (msg.seq > cursor) outbox.log();
    } else if (msg.kind === 'ephemeral') {
      ephemeral(msg.frame);
    } else {
      outbox.frame(frame('session.deleted', { type: 'session.deleted', id: newId('event'), processed_at: nowIso() }));
      outbox.afterQueued(() => end());
    }
  });

  open.add(end);

  const ping = setInterval(() => outbox.idle('event: ping\ndata: {}\n\n'), ctx.config.server.ssePingMs);
  req.raw.on('close', () => end());
  res.on('close', () => end());
  res.on('error', () => end());

  // A hijacked reply skips Fastify's header writing: carry over what the hooks set (request-id, CORS).
  const hooked = Object.entries(reply.getHeaders()).filter((h): h is [string, string | number | string[]] => h[1] !== undefined);
  reply.hijack();
  res.writeHead(200, {
    ...Object.fromEntries(hooked),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  // Anything already past the starting point (a resume, or a race with the subscription) goes out first.
  outbox.log();
}
