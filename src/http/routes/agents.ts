import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import { listById } from '../list.js';
import { Agent, AgentCreate, AgentGetQuery, AgentListQuery, AgentUpdate } from '../schemas/agents.js';
import { Page, Params, Responds } from '../schemas/common.js';

const params = Params('agent_id');

export function agentRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['agents'];

  app.post('/v1/agents', { schema: { tags, body: AgentCreate, response: Responds(Agent) } }, async (req) => ctx.agents.create(req.body));

  app.get('/v1/agents/:agent_id', { schema: { tags, params, querystring: AgentGetQuery, response: Responds(Agent) } }, async (req) =>
    ctx.agents.get(req.params.agent_id, req.query.version),
  );

  app.post('/v1/agents/:agent_id', { schema: { tags, params, body: AgentUpdate, response: Responds(Agent) } }, async (req) =>
    ctx.agents.update(req.params.agent_id, req.body),
  );

  app.post('/v1/agents/:agent_id/archive', { schema: { tags, params, response: Responds(Agent) } }, async (req) => ctx.agents.archive(req.params.agent_id));

  app.get('/v1/agents', { schema: { tags, querystring: AgentListQuery, response: Responds(Page(Agent)) } }, async (req) => {
    const q = req.query;
    return listById(q, { order: 'desc' }, (f) =>
      ctx.agents.list({ ...f, includeArchived: q.include_archived ?? false, createdGte: q['created_at[gte]'], createdLte: q['created_at[lte]'] }),
    );
  });
}
