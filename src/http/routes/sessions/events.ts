import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.js';
import { ApiError, invalid } from '../../../domain/errors.js';
import { listPage } from '../../list.js';
import type { StoredEvent } from '../../../domain/event-log.js';
import { arr, oneOf, str, timeRange, type Query } from '../../query.js';
import { streamSession } from '../../sse.js';

type IdParams = { session_id: string };

const DELTA_TYPES = ['agent.message', 'agent.thinking'];

export function sessionEventRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: IdParams }>('/v1/sessions/:session_id/events', async (req) => {
    const id = req.params.session_id;
    await ctx.sessions.get(id);
    const q = req.query as Query;
    const order = oneOf(q, 'order', ['asc', 'desc'] as const) ?? 'asc';
    const types = arr(q, 'types');
    const t = timeRange(q, 'created_at');
    const processedAfter = t.gt ? { op: '>' as const, value: t.gt } : t.gte ? { op: '>=' as const, value: t.gte } : undefined;
    const processedBefore = t.lt ? { op: '<' as const, value: t.lt } : t.lte ? { op: '<=' as const, value: t.lte } : undefined;
    const page = await listPage<StoredEvent, number>(q, { order, defaultLimit: 1000, maxLimit: 1000, keyType: 'number' }, (f) =>
      ctx.events.list(id, { afterSeq: f.after, beforeSeq: f.before, order: f.direction, limit: f.limit, types, processedAfter, processedBefore }), (e) => e.seq);
    return { data: page.data.map((e) => e.event), next_page: page.next_page };
  });

  app.post<{ Params: IdParams }>('/v1/sessions/:session_id/events', async (req) => ({
    data: await ctx.sessions.sendEvents(req.params.session_id, req.body),
  }));

  app.get<{ Params: IdParams }>('/v1/sessions/:session_id/events/stream', async (req, reply) => {
    const id = req.params.session_id;
    await ctx.sessions.get(id);
    const q = req.query as Query;
    const deltas = new Set(arr(q, 'event_deltas') ?? []);
    for (const d of deltas) if (!DELTA_TYPES.includes(d)) throw invalid(`event_deltas: must be among ${DELTA_TYPES.join(', ')}`);
    // Beyond the hosted API: resume after a known event (Last-Event-ID, as browsers send it, or ?after_id=).
    const resumeFrom = (req.headers['last-event-id'] as string | undefined) || str(q, 'after_id');
    let fromSeq: number;
    if (resumeFrom) {
      const seq = await ctx.events.seqOf(id, resumeFrom);
      if (seq === undefined) throw new ApiError(400, 'invalid_request_error', `Last-Event-ID ${resumeFrom} is not an event of session ${id}`);
      fromSeq = seq;
    } else {
      fromSeq = await ctx.events.lastSeq(id);
    }
    streamSession(ctx, req, reply, { sessionId: id, fromSeq, deltas });
    return reply;
  });
}
