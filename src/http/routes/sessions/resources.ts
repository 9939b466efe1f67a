import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../../context.js';
import { wire } from '../../../domain/resources.js';
import { listById } from '../../list.js';
import { Deleted, ListQuery, Page, Params, Responds } from '../../schemas/common.js';
import { Resource, ResourceAdd, ResourceUpdate } from '../../schemas/resources.js';

/** `/v1/sessions/{id}/resources…`: add, list, retrieve, rotate a repository token, detach. */
export function sessionResourceRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['session resources'];
  const base = '/v1/sessions/:session_id/resources';
  const sessionParams = Params('session_id');
  const params = Params('session_id', 'resource_id');
  app.post(base, { schema: { tags, params: sessionParams, body: ResourceAdd, response: Responds(Resource) } }, async (req) =>
    ctx.resources.add(req.params.session_id, req.body),
  );
  app.get(base, { schema: { tags, params: sessionParams, querystring: ListQuery(), response: Responds(Page(Resource)) } }, async (req) => {
    // Paged by the row id, which memory store entries carry internally but do not show.
    const page = await listById(req.query, { order: 'asc' }, (f) => ctx.resources.list(req.params.session_id, f));
    return { ...page, data: page.data.map(wire) };
  });
  app.get(`${base}/:resource_id`, { schema: { tags, params, response: Responds(Resource) } }, async (req) =>
    ctx.resources.get(req.params.session_id, req.params.resource_id),
  );
  app.post(`${base}/:resource_id`, { schema: { tags, params, body: ResourceUpdate, response: Responds(Resource) } }, async (req) =>
    ctx.resources.update(req.params.session_id, req.params.resource_id, req.body),
  );
  app.delete(`${base}/:resource_id`, { schema: { tags, params, response: Responds(Deleted('session_resource_deleted')) } }, async (req) =>
    ctx.resources.delete(req.params.session_id, req.params.resource_id),
  );
}
