import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { listById } from '../list.js';
import { bool, type Query } from '../query.js';

type IdParams = { vault_id: string };

export function vaultRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/v1/vaults', async (req) => ctx.vaults.create(req.body));
  app.get<{ Params: IdParams }>('/v1/vaults/:vault_id', async (req) => ctx.vaults.get(req.params.vault_id));
  app.post<{ Params: IdParams }>('/v1/vaults/:vault_id', async (req) => ctx.vaults.update(req.params.vault_id, req.body ?? {}));
  app.delete<{ Params: IdParams }>('/v1/vaults/:vault_id', async (req) => ctx.vaults.delete(req.params.vault_id));
  app.post<{ Params: IdParams }>('/v1/vaults/:vault_id/archive', async (req) => ctx.vaults.archive(req.params.vault_id));
  app.get('/v1/vaults', async (req) => {
    const q = req.query as Query;
    const includeArchived = bool(q, 'include_archived') ?? false;
    return listById(q, { order: 'desc' }, (f) => ctx.vaults.list({ ...f, includeArchived }));
  });
}
