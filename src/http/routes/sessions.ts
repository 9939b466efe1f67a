import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import { invalid } from '../../domain/errors.js';
import { listById } from '../list.js';
import { Deleted, Page, Params, Responds } from '../schemas/common.js';
import { Session, SessionCreate, SessionListQuery, SessionUpdate } from '../schemas/sessions.js';

const params = Params('session_id');

export function sessionRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['sessions'];
  app.post(
    '/v1/sessions',
    { schema: { tags, body: SessionCreate, response: Responds(Session) } },
    async (req) => (await ctx.sessions.create(req.body)).session,
  );
  app.get('/v1/sessions/:session_id', { schema: { tags, params, response: Responds(Session) } }, async (req) => ctx.sessions.get(req.params.session_id));
  app.post('/v1/sessions/:session_id', { schema: { tags, params, body: SessionUpdate, response: Responds(Session) } }, async (req) =>
    ctx.sessions.update(req.params.session_id, req.body),
  );
  app.delete('/v1/sessions/:session_id', { schema: { tags, params, response: Responds(Deleted('session_deleted')) } }, async (req) =>
    ctx.sessions.delete(req.params.session_id),
  );
  app.post('/v1/sessions/:session_id/archive', { schema: { tags, params, response: Responds(Session) } }, async (req) =>
    ctx.sessions.archive(req.params.session_id),
  );

  app.get('/v1/sessions', { schema: { tags, querystring: SessionListQuery, response: Responds(Page(Session, { prev: true })) } }, async (req) => {
    const q = req.query;
    if (q.agent_version !== undefined && !q.agent_id) throw invalid('agent_version: requires agent_id');
    const filters = {
      agentId: q.agent_id,
      agentVersion: q.agent_version,
      deploymentId: q.deployment_id,
      memoryStoreId: q.memory_store_id,
      includeArchived: q.include_archived ?? false,
      statuses: q.statuses,
      created: { gt: q['created_at[gt]'], gte: q['created_at[gte]'], lt: q['created_at[lt]'], lte: q['created_at[lte]'] },
    };
    return listById(q, { order: q.order ?? 'desc', bidirectional: true }, (f) => ctx.sessions.list({ ...filters, ...f }));
  });
}
