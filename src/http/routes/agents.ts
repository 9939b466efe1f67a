import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { listById } from '../list.js';
import { bool, int, timeRange, type Query } from '../query.js';

type IdParams = { agent_id: string };

export function agentRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/v1/agents', async (req) => ctx.agents.create(req.body));

  app.get<{ Params: IdParams }>('/v1/agents/:agent_id', async (req) => {
    const version = int(req.query as Query, 'version', { min: 1 });
    return ctx.agents.get(req.params.agent_id, version);
  });

  app.post<{ Params: IdParams }>('/v1/agents/:agent_id', async (req) => ctx.agents.update(req.params.agent_id, req.body ?? {}));

  app.post<{ Params: IdParams }>('/v1/agents/:agent_id/archive', async (req) => ctx.agents.archive(req.params.agent_id));

  app.get('/v1/agents', async (req) => {
    const q = req.query as Query;
    const created = timeRange(q, 'created_at');
    const includeArchived = bool(q, 'include_archived') ?? false;
    return listById(q, { order: 'desc' }, (f) =>
      ctx.agents.list({ ...f, includeArchived, createdGte: created.gte, createdLte: created.lte }));
  });
}
