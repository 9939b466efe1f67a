import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.js';
import { wire } from '../../../domain/resources.js';
import { listById } from '../../list.js';
import type { Query } from '../../query.js';

type SessionParams = { session_id: string };
type IdParams = SessionParams & { resource_id: string };

/** `/v1/sessions/{id}/resources…`: add, list, retrieve, rotate a repository token, detach. */
export function sessionResourceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const base = '/v1/sessions/:session_id/resources';
  app.post<{ Params: SessionParams }>(base, async (req) => ctx.resources.add(req.params.session_id, req.body));
  app.get<{ Params: SessionParams }>(base, async (req) => {
    // Paged by the row id, which memory store entries carry internally but do not show.
    const page = await listById(req.query as Query, { order: 'asc' }, (f) => ctx.resources.list(req.params.session_id, f));
    return { ...page, data: page.data.map(wire) };
  });
  app.get<{ Params: IdParams }>(`${base}/:resource_id`, async (req) => ctx.resources.get(req.params.session_id, req.params.resource_id));
  app.post<{ Params: IdParams }>(`${base}/:resource_id`, async (req) =>
    ctx.resources.update(req.params.session_id, req.params.resource_id, req.body ?? {}),
  );
  app.delete<{ Params: IdParams }>(`${base}/:resource_id`, async (req) => ctx.resources.delete(req.params.session_id, req.params.resource_id));
}
