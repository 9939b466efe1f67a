import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { agentRoutes } from './agents.js';
import { agentVersionRoutes } from './agents/versions.js';
import { environmentRoutes } from './environments.js';
import { sessionRoutes } from './sessions.js';
import { sessionEventRoutes } from './sessions/events.js';

/** One module per API path; the file path mirrors the URL (`routes/sessions/events.ts` → `/v1/sessions/{id}/events`). */
export async function registerRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  agentRoutes(app, ctx);
  agentVersionRoutes(app, ctx);
  environmentRoutes(app, ctx);
  sessionRoutes(app, ctx);
  sessionEventRoutes(app, ctx);
}
