import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * Lets browser pages from `origins` (exact origins, or `*` for any) call the API; with none,
 * no CORS header is ever sent and browsers keep other sites' pages from reading responses.
 * Preflights are answered inside @fastify/cors's own onRequest hook, before the API-key check
 * (browsers send no credentials on a preflight); register this before `requireApiKey` so that
 * hook runs first. Credentials mode is never allowed: API keys travel in headers, not cookies.
 */
export async function allowCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  if (origins.length === 0) return;
  await app.register(cors, {
    // Always a list: a single string would be sent as the allowed origin whatever the request's.
    origin: origins.includes('*') ? '*' : [...origins],
    exposedHeaders: ['request-id', 'x-should-retry', 'retry-after'],
    methods: ['GET', 'POST', 'DELETE', 'PATCH', 'PUT', 'OPTIONS'],
  });
}
