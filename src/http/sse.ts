import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import type { SessionEvent } from '../domain/event-log.js';
import { newId } from '../domain/ids.js';
import { nowIso } from '../domain/time.js';
import type { BusMessage, EphemeralFrame } from '../fanout/bus.js';

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

/** Ends every open event stream of this app: clients see the stream end and may reconnect elsewhere. */
export function endStreams(ctx: AppContext): void {
  for (const end of [...(openStreams.get(ctx) ?? [])]) end();
}

/**
 * Serves a session's events as SSE: the log tailed from `fromSeq`. Every notification makes the
 * stream read the log after the last sequence it sent, so events arrive in log order with no gap
 * and no duplicate however notifications are merged or delayed. Preview frames ride the same
 * serial queue, so they can never overtake the event that announced their model request.
 */
export function streamSession(ctx: AppContext, req: FastifyRequest, reply: FastifyReply, opts: StreamOptions): void {
  const res = reply.raw;
  let cursor = opts.fromSeq;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();
  const openPreviews = new Set<string>();
  let open = openStreams.get(ctx);
  if (!open) openStreams.set(ctx, (open = new Set()));

  const write = async (chunk: string): Promise<void> => {
    if (closed) return;
    if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
  };

  const drain = async (): Promise<void> => {
    for (;;) {
      if (closed) return;
      const batch = await ctx.events.after(opts.sessionId, cursor, 500);
      for (const { seq, event } of batch) {
        cursor = seq;
        if (!opts.filter || opts.filter(event)) await write(frame(event.type, event, event.id));
      }
      if (batch.length < 500) return;
    }
  };

  const ephemeral = async (f: EphemeralFrame): Promise<void> => {
    if (f.type === 'event_start') {
      const target = f.event as { type: string; id: string };
      if (!opts.deltas.has(target.type)) return;
      openPreviews.add(target.id);
    } else if (!openPreviews.has(f.event_id as string)) {
      return;
    }
    await write(frame(f.type, f));
  };

  const end = (): void => {
    if (closed) return;
    closed = true;
    open.delete(end);
    unsubscribe();
    clearInterval(ping);
    res.end();
  };

  const enqueue = (task: () => Promise<void>): void => {
    chain = chain.then(task).catch((err) => {
      req.log.error({ err, session_id: opts.sessionId }, 'event stream failed');
      if (!closed) res.write(frame('error', { type: 'error', error: { type: 'api_error', message: 'Event stream failed; reconnect and list events to catch up.' } }));
      end();
    });
  };

  const unsubscribe = ctx.bus.subscribe(opts.sessionId, (msg: BusMessage) => {
    if (msg.kind === 'appended') {
      if (msg.seq > cursor) enqueue(drain);
    } else if (msg.kind === 'ephemeral') {
      enqueue(() => ephemeral(msg.frame));
    } else {
      enqueue(async () => {
        await write(frame('session.deleted', { type: 'session.deleted', id: newId('event'), processed_at: nowIso() }));
        end();
      });
    }
  });

  open.add(end);

  const ping = setInterval(() => enqueue(() => write('event: ping\ndata: {}\n\n')), ctx.config.server.ssePingMs);
  req.raw.on('close', end);
  res.on('error', end);

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
  enqueue(drain);
}
