import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * What happens to a request body that is still arriving when the server has already answered
 * (an error found mid-upload: a bad multipart part, a file over the limit, a full disk). HTTP/1.1
 * reads the next request on a keep-alive connection only after this body, so a body left unread
 * strands the connection: the client's next request is never answered.
 *
 * The rest of the body is read and thrown away, at most `limit` bytes of it; a body that says it
 * is larger than that gets `connection: close` (the client learns not to reuse the connection,
 * and Node ends it after the answer), and one that goes on past the limit regardless is cut off.
 */
export function discardUnreadBody(req: FastifyRequest, reply: FastifyReply, limit: number): void {
  const raw = req.raw;
  if (raw.complete || raw.destroyed) return;
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) reply.header('connection', 'close');
  // Whatever consumed the body so far (a multipart parser) has stopped; nothing else may read it.
  raw.unpipe();
  let read = 0;
  raw.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > limit) raw.socket?.destroy();
  });
  raw.resume();
}
