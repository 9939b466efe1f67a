import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';
import { isOptionalBody } from './validation.js';

/**
 * The OpenAPI 3.1 document of the API, generated from the route schemas (src/http/schemas) by
 * @fastify/swagger and served at `/v1/openapi.json`. It needs no API key: it describes only the
 * public API, which is the published Managed Agents API, and tells nothing about this server's
 * data. Register before the routes: the document is collected as they are added.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  // From src/http or dist/http alike.
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  // Update bodies may be omitted (an empty update); @fastify/swagger marks every body required.
  const optionalBodies = new Set<string>();
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Paddock: the Managed Agents API',
        version,
        description: 'A self-hosted server for the Managed Agents API. Errors are the error envelope; validation failures are 400s naming the field.',
      },
      components: {
        securitySchemes: {
          ApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          Bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ ApiKey: [] }, { Bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      const body = (schema as { body?: unknown } | undefined)?.body;
      if (body && isOptionalBody(body)) for (const m of [route.method].flat()) optionalBodies.add(`${m.toLowerCase()} ${url}`);
      // Routes declared public (src/http/auth.ts) need no key.
      return { schema: route.config?.public === true ? { ...schema, security: [] } : schema, url };
    },
    transformObject: (doc) => {
      const openapi = 'openapiObject' in doc ? doc.openapiObject : {};
      for (const [path, item] of Object.entries(openapi.paths ?? {})) {
        for (const [method, op] of Object.entries(item ?? {})) {
          const url = path.replace(/\{(\w+)\}/g, ':$1');
          const rb = (op as { requestBody?: { required?: boolean } }).requestBody;
          if (rb && optionalBodies.has(`${method} ${url}`)) rb.required = false;
        }
      }
      return openapi;
    },
  });
}

/** Serves the document; public (see above). */
export function openApiRoute(app: FastifyInstance): void {
  app.get(
    '/v1/openapi.json',
    {
      config: { public: true },
      schema: { tags: ['meta'], summary: 'This document', response: { 200: Type.Object({ openapi: Type.String() }) } },
    },
    async () => app.swagger(),
  );
}
