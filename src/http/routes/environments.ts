import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import { listById } from '../list.js';
import { Deleted, Page, Params, Responds } from '../schemas/common.js';
import { Environment, EnvironmentCreate, EnvironmentListQuery, EnvironmentUpdate } from '../schemas/environments.js';

const params = Params('environment_id');

export function environmentRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['environments'];
  app.post('/v1/environments', { schema: { tags, body: EnvironmentCreate, response: Responds(Environment) } }, async (req) =>
    ctx.environments.create(req.body),
  );
  app.get('/v1/environments/:environment_id', { schema: { tags, params, response: Responds(Environment) } }, async (req) =>
    ctx.environments.get(req.params.environment_id),
  );
  app.post('/v1/environments/:environment_id', { schema: { tags, params, body: EnvironmentUpdate, response: Responds(Environment) } }, async (req) =>
    ctx.environments.update(req.params.environment_id, req.body),
  );
  app.delete('/v1/environments/:environment_id', { schema: { tags, params, response: Responds(Deleted('environment_deleted')) } }, async (req) =>
    ctx.environments.delete(req.params.environment_id),
  );
  app.post('/v1/environments/:environment_id/archive', { schema: { tags, params, response: Responds(Environment) } }, async (req) =>
    ctx.environments.archive(req.params.environment_id),
  );
  app.get('/v1/environments', { schema: { tags, querystring: EnvironmentListQuery, response: Responds(Page(Environment)) } }, async (req) =>
    listById(req.query, { order: 'desc' }, (f) => ctx.environments.list({ ...f, includeArchived: req.query.include_archived ?? false })),
  );
}
