import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../../context.js';
import { listPage } from '../../list.js';
import type { Agent as AgentObject } from '../../../domain/agents.js';
import { Agent } from '../../schemas/agents.js';
import { ListQuery, Page, Params, Responds } from '../../schemas/common.js';

export function agentVersionRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/agents/:agent_id/versions',
    { schema: { tags: ['agents'], params: Params('agent_id'), querystring: ListQuery(), response: Responds(Page(Agent)) } },
    async (req) =>
      listPage<AgentObject, number>(
        req.query,
        { order: 'desc', keyType: 'number' },
        (f) => ctx.agents.versions(req.params.agent_id, f),
        (a) => a.version,
      ),
  );
}
