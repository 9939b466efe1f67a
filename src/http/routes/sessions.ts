import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { invalid } from '../../domain/errors.js';
import { listById } from '../list.js';
import { arr, bool, int, oneOf, str, timeRange, type Query } from '../query.js';

type IdParams = { session_id: string };

const STATUSES = ['rescheduling', 'running', 'idle', 'terminated'];

export function sessionRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/v1/sessions', async (req) => (await ctx.sessions.create(req.body)).session);
  app.get<{ Params: IdParams }>('/v1/sessions/:session_id', async (req) => ctx.sessions.get(req.params.session_id));
  app.post<{ Params: IdParams }>('/v1/sessions/:session_id', async (req) => ctx.sessions.update(req.params.session_id, req.body ?? {}));
  app.delete<{ Params: IdParams }>('/v1/sessions/:session_id', async (req) => ctx.sessions.delete(req.params.session_id));
  app.post<{ Params: IdParams }>('/v1/sessions/:session_id/archive', async (req) => ctx.sessions.archive(req.params.session_id));

  app.get('/v1/sessions', async (req) => {
    const q = req.query as Query;
    const order = oneOf(q, 'order', ['asc', 'desc'] as const) ?? 'desc';
    const agentVersion = int(q, 'agent_version', { min: 1 });
    const agentId = str(q, 'agent_id');
    if (agentVersion !== undefined && !agentId) throw invalid('agent_version: requires agent_id');
    const statuses = arr(q, 'statuses');
    statuses?.forEach((s) => {
      if (!STATUSES.includes(s)) throw invalid(`statuses: must be among ${STATUSES.join(', ')}`);
    });
    const filters = {
      agentId,
      agentVersion,
      deploymentId: str(q, 'deployment_id'),
      memoryStoreId: str(q, 'memory_store_id'),
      includeArchived: bool(q, 'include_archived') ?? false,
      statuses,
      created: timeRange(q, 'created_at'),
    };
    return listById(q, { order, bidirectional: true }, (f) => ctx.sessions.list({ ...filters, ...f }));
  });
}
