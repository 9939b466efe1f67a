import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.js';
import { listPage } from '../../list.js';
import type { Query } from '../../query.js';
import type { Agent } from '../../../domain/agents.js';

export function agentVersionRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { agent_id: string } }>('/v1/agents/:agent_id/versions', async (req) =>
    listPage<Agent, number>(req.query as Query, { order: 'desc', keyType: 'number' }, (f) => ctx.agents.versions(req.params.agent_id, f), (a) => a.version),
  );
}
