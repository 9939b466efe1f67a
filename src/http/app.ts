import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { ApiError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { authenticate, requireApiKey } from './auth.js';
import { allowCors } from './cors.js';
import { sendError, toApiError } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { registerRoutes } from './routes/index.js';
import { endStreams } from './sse.js';
import { discardUnreadBody } from './unread-body.js';
import { validatorCompiler } from './validation.js';

/** Builds the Fastify app: transport rules (auth, errors, request ids, CORS, bodies) and the routes. */
export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    genReqId: () => newId('request'),
    bodyLimit: ctx.config.server.maxBodyBytes,
    // One line per request comes from the onResponse hook below, with the fields we choose.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // The router rejects some URLs before any hook runs; answer those in the API's envelope too,
    // and only to a caller with a key, as for a URL that matches no route.
    frameworkErrors: (err, req, reply) => {
      reply.header('request-id', req.id);
      const rejected =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError(404, 'not_found_error', 'No such resource: a path parameter is too long to be an id.')
          : new ApiError(400, 'invalid_request_error', 'The URL is not validly encoded.');
      void authenticate(ctx, req).then(
        () => sendError(reply, req, rejected),
        (e: unknown) => sendError(reply, req, toApiError(e)),
      );
    },
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('request-id', req.id);
  });
  await allowCors(app, ctx.config.cors.origins);
  requireApiKey(app, ctx);
  // Route schemas validate requests (src/http/validation.ts); response schemas only document
  // the API, so responses are sent as they are built, never reshaped by a schema.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await registerOpenApi(app);

  // Action POSTs arrive with no body (and sometimes a JSON content-type): treat empty as absent.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(/^application\/([\w.-]+\+)?json/, { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return done(new ApiError(400, 'invalid_request_error', 'Request body is not valid JSON.'), undefined);
    }
    // A literal `null` would otherwise pass for "no body" (`req.body ?? {}`) and update nothing.
    if (parsed === null) return done(new ApiError(400, 'invalid_request_error', 'body: must be a JSON object'), undefined);
    done(null, parsed);
  });

  app.addHook('onResponse', async (req, reply) => {
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    req.log[level]({ method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    // Closing only drops connections idle at that moment: one whose response was still going out
    // would be waited on until its keep-alive timeout (72 s), so a shutdown ends it once sent.
    if (!app.server.listening) req.raw.socket?.end();
  });

  // Event streams are hijacked responses that never finish by themselves: end them first, or
  // closing the server would wait on them forever.
  app.addHook('preClose', async () => endStreams(ctx));

  app.setErrorHandler((err, req, reply) => {
    const api = toApiError(err);
    if (api.status >= 500) req.log.error({ err }, api.status === 503 ? 'storage unavailable' : 'unhandled error');
    // An error found mid-upload must not leave the rest of the body stranding the connection.
    discardUnreadBody(req, reply, ctx.config.server.maxBodyBytes);
    return sendError(reply, req, api);
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, req, new ApiError(404, 'not_found_error', `No route for ${req.method} ${req.url.split('?')[0]}`)));

  await registerRoutes(app, ctx);
  return app;
}
