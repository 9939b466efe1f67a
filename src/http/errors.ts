import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorType } from '../domain/errors.js';
import { storageTrouble } from '../store/errors.js';

export interface ErrorEnvelope {
  type: 'error';
  error: { type: ErrorType | string; message: string; details?: Record<string, unknown> };
  request_id: string | null;
}

export function envelope(err: ApiError, requestId: string): ErrorEnvelope {
  const error: ErrorEnvelope['error'] = { type: err.type, message: err.message, ...(err.extra ?? {}) };
  if (err.details) error.details = err.details;
  return { type: 'error', error, request_id: requestId };
}

/** Maps anything thrown by a handler (or by Fastify itself) to the API's error envelope. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // Storage trouble passes by itself: a 503 that says so, which the SDKs retry (x-should-retry).
  const trouble = storageTrouble(err);
  if (trouble === 'full') return new ApiError(503, 'overloaded_error', "The server's storage is full; retry once space has been freed.");
  if (trouble === 'unavailable') return new ApiError(503, 'overloaded_error', "The server's storage is unavailable for the moment; retry shortly.");
  const fe = err as FastifyError & { statusCode?: number };
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 413 || fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe?.code === 'FST_REQ_FILE_TOO_LARGE') {
    return new ApiError(413, 'request_too_large', 'Request body is too large.');
  }
  if (fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ApiError(400, 'invalid_request_error', 'Unsupported content-type; send application/json.');
  }
  if (status >= 400 && status < 500) {
    return new ApiError(status, status === 404 ? 'not_found_error' : 'invalid_request_error', fe.message || 'Invalid request.');
  }
  return new ApiError(500, 'api_error', 'Internal server error.');
}

export function sendError(reply: FastifyReply, req: FastifyRequest, err: ApiError): FastifyReply {
  if (err.shouldRetry !== undefined) reply.header('x-should-retry', String(err.shouldRetry));
  return reply
    .status(err.status)
    .type('application/json')
    .send(envelope(err, String(req.id)));
}
