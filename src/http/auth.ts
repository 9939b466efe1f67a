import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext, Principal } from '../context.js';
import { ApiError } from '../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Serve this route without an API key. Absent (the default) means the key is required. */
    public?: boolean;
  }
}

/** One route as the router knows it, and whether it answers without an API key. */
export interface RouteAccess {
  method: string;
  url: string;
  public: boolean;
}

const routeTables = new WeakMap<FastifyInstance, RouteAccess[]>();

function bearer(req: FastifyRequest): string | undefined {
  const key = req.headers['x-api-key'];
  if (typeof key === 'string' && key) return key;
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1].trim();
  }
  return undefined;
}

/** Who sent the request, from its API key; a 401 when the key is missing or unknown. */
export async function authenticate(ctx: AppContext, req: FastifyRequest): Promise<Principal> {
  const token = bearer(req);
  if (token) {
    for (const auth of ctx.authenticators) {
      const p = await auth(token);
      if (p) return p;
    }
  }
  throw new ApiError(401, 'authentication_error', token ? 'Invalid API key.' : 'Missing API key: send it as x-api-key or Authorization: Bearer.');
}

/**
 * Requires an API key on every request unless the route the router matched was declared with
 * `config: { public: true }`. The decision is made on the matched route, never on the URL
 * string: the router decodes and normalises paths, so any prefix test on the raw URL can be
 * dodged by spelling the same path differently. A request that matches no route is not public
 * either, so a caller without a key learns nothing, not even which paths exist.
 *
 * Install it before anything else that adds hooks or routes (CORS excepted, whose preflights
 * must pass): hooks run in the order they were added, so a plugin's own onRequest hook added
 * earlier would run before the key is checked, and the route table below would miss routes
 * of plugins registered earlier.
 */
export function requireApiKey(app: FastifyInstance, ctx: AppContext): void {
  const table: RouteAccess[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) table.push({ method, url: route.url, public: route.config?.public === true });
  });
  app.addHook('onRequest', async (req) => {
    if (!req.is404 && req.routeOptions.config.public === true) return;
    req.principal = await authenticate(ctx, req);
  });
}

/** Every route registered since `requireApiKey`, with its access: for audits and tests. */
export function routeAccess(app: FastifyInstance): RouteAccess[] {
  return [...(routeTables.get(app) ?? [])];
}
