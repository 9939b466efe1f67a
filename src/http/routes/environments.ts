import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { listById } from '../list.js';
import { bool, type Query } from '../query.js';

type IdParams = { environment_id: string };

export function environmentRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/v1/environments', async (req) => ctx.environments.create(req.body));
  app.get<{ Params: IdParams }>('/v1/environments/:environment_id', async (req) => ctx.environments.get(req.params.environment_id));
  app.post<{ Params: IdParams }>('/v1/environments/:environment_id', async (req) =>
    ctx.environments.update(req.params.environment_id, req.body ?? {}),
  );
  app.delete<{ Params: IdParams }>('/v1/environments/:environment_id', async (req) => ctx.environments.delete(req.params.environment_id));
  app.post<{ Params: IdParams }>('/v1/environments/:environment_id/archive', async (req) =>
    ctx.environments.archive(req.params.environment_id),
  );
  app.get('/v1/environments', async (req) => {
    const q = req.query as Query;
    const includeArchived = bool(q, 'include_archived') ?? false;
    return listById(q, { order: 'desc' }, (f) => ctx.environments.list({ ...f, includeArchived }));
  });
}
