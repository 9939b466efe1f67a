import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { openApiRoute } from '../openapi.js';
import { agentRoutes } from './agents.js';
import { agentVersionRoutes } from './agents/versions.js';
import { environmentRoutes } from './environments.js';
import { fileRoutes } from './files.js';
import { sessionRoutes } from './sessions.js';
import { sessionEventRoutes } from './sessions/events.js';
import { sessionResourceRoutes } from './sessions/resources.js';
import { vaultRoutes } from './vaults.js';
import { vaultCredentialRoutes } from './vaults/credentials.js';

/** One module per API path; the file path mirrors the URL (`routes/sessions/events.ts` → `/v1/sessions/{id}/events`). */
export async function registerRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // The routes that answer without an API key (src/http/auth.ts): load balancers have none, and
  // the API's description is public.
  app.get('/healthz', { config: { public: true }, schema: { tags: ['meta'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));
  openApiRoute(app);
  agentRoutes(app, ctx);
  agentVersionRoutes(app, ctx);
  environmentRoutes(app, ctx);
  sessionRoutes(app, ctx);
  sessionEventRoutes(app, ctx);
  sessionResourceRoutes(app, ctx);
  fileRoutes(app, ctx);
  vaultRoutes(app, ctx);
  vaultCredentialRoutes(app, ctx);
}
