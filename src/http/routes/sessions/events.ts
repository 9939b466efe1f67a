import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AppContext } from '../../../context.js';
import { ApiError } from '../../../domain/errors.js';
import { listPage } from '../../list.js';
import type { StoredEvent } from '../../../domain/event-log.js';
import { ErrorEnvelope, Page, Params, Responds } from '../../schemas/common.js';
import { EventListQuery, EventStreamQuery, SendEvents, SessionEvent, StreamFrame } from '../../schemas/events.js';
import { streamSession } from '../../sse.js';

const params = Params('session_id');

export function sessionEventRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['session events'];

  app.get('/v1/sessions/:session_id/events', { schema: { tags, params, querystring: EventListQuery, response: Responds(Page(SessionEvent)) } }, async (req) => {
    const id = req.params.session_id;
    await ctx.sessions.get(id);
    const q = req.query;
    const processedAfter = q['created_at[gt]']
      ? { op: '>' as const, value: q['created_at[gt]'] }
      : q['created_at[gte]']
        ? { op: '>=' as const, value: q['created_at[gte]'] }
        : undefined;
    const processedBefore = q['created_at[lt]']
      ? { op: '<' as const, value: q['created_at[lt]'] }
      : q['created_at[lte]']
        ? { op: '<=' as const, value: q['created_at[lte]'] }
        : undefined;
    const page = await listPage<StoredEvent, number>(
      q,
      { order: q.order ?? 'asc', defaultLimit: 1000, keyType: 'number' },
      (f) =>
        ctx.events.list(id, { afterSeq: f.after, beforeSeq: f.before, order: f.direction, limit: f.limit, types: q.types, processedAfter, processedBefore }),
      (e) => e.seq,
    );
    return { data: page.data.map((e) => e.event), next_page: page.next_page };
  });

  app.post(
    '/v1/sessions/:session_id/events',
    { schema: { tags, params, body: SendEvents, response: Responds(Type.Object({ data: Type.Array(SessionEvent) })) } },
    async (req) => ({
      data: await ctx.sessions.sendEvents(req.params.session_id, req.body),
    }),
  );

  app.get(
    '/v1/sessions/:session_id/events/stream',
    {
      schema: {
        tags,
        params,
        querystring: EventStreamQuery,
        response: {
          200: { description: 'Server-sent events, each a frame as the schema describes', content: { 'text/event-stream': { schema: StreamFrame } } },
          '4xx': ErrorEnvelope,
        },
      },
    },
    async (req, reply) => {
      const id = req.params.session_id;
      await ctx.sessions.get(id);
      const deltas = new Set<string>(req.query.event_deltas ?? []);
      // Beyond the hosted API: resume after a known event (Last-Event-ID, as browsers send it, or ?after_id=).
      const resumeFrom = (req.headers['last-event-id'] as string | undefined) || req.query.after_id;
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
    },
  );
}
