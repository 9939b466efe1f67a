import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MIMEType } from 'node:util';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { AppContext } from '../../context.js';
import { invalid } from '../../domain/errors.js';
import { expiresIn, type FileMetadata as FileObject, type StagedBlob } from '../../domain/files.js';
import { keysetPage, pageRequest, type PageRequest } from '../pagination.js';
import { Deleted, ErrorEnvelope, Params, Responds } from '../schemas/common.js';
import { FileListQuery, FileMetadata, FilePage, FileUpload, MAX_IDS } from '../schemas/files.js';

type ListQuery = Static<typeof FileListQuery>;
const params = Params('file_id');
const tags = ['files'];

/**
 * `/v1/files`. Uploads are multipart (part `file` plus an optional `expires_in_seconds` field) and
 * stream straight into blob storage. Lists answer in both pagination shapes at once: PageCursor
 * (`page` → `next_page`, SDK 1.x) and the legacy Page (`after_id`/`before_id` → `has_more`,
 * `first_id`, `last_id`, SDK 0.x), so either SDK pages correctly.
 */
export function fileRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  // Encapsulated so that multipart parsing is scoped to these routes and another module may
  // register its own (skills) without a clash.
  app.register(async (scope) => {
    if (!scope.hasRequestDecorator('parts')) {
      await scope.register(multipart, {
        // One byte over the limit so that the blob store, not busboy's silent truncation, decides.
        limits: { fileSize: ctx.files.maxBytes + 1, fields: 20, fieldSize: 64 * 1024, parts: 32 },
      });
    }
    scope.post('/v1/files', { schema: { tags, body: FileUpload, response: Responds(FileMetadata) } }, async (req) => upload(ctx, req));
  });

  app.get('/v1/files', { schema: { tags, querystring: FileListQuery, response: Responds(FilePage) } }, async (req) => listFiles(ctx, req.query));
  app.get('/v1/files/:file_id', { schema: { tags, params, response: Responds(FileMetadata) } }, async (req) => ctx.files.get(req.params.file_id));
  // Served with the content type the file was stored with, so any type may come back.
  const content: unknown = {
    200: { description: 'The file content, with its stored content type', content: { '*/*': { schema: Type.String({ contentEncoding: 'binary' }) } } },
    '4xx': ErrorEnvelope,
  };
  app.get('/v1/files/:file_id/content', { schema: { tags, params, response: content } }, async (req, reply) => {
    const { file, stream } = await ctx.files.content(req.params.file_id);
    reply.header('content-type', file.mime_type);
    reply.header('content-length', String(file.size_bytes));
    reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
    return reply.send(stream);
  });
  app.delete('/v1/files/:file_id', { schema: { tags, params, response: Responds(Deleted('file_deleted')) } }, async (req) =>
    ctx.files.delete(req.params.file_id),
  );
}

async function upload(ctx: AppContext, req: FastifyRequest) {
  if (!req.isMultipart()) throw invalid('Uploads must be multipart/form-data with the content in a part named "file".');
  // The multipart parser throws a plain Error (a 500) on a multipart type it cannot split: say why.
  if (!boundaryOf(req.headers['content-type'])) throw invalid('content-type: multipart/form-data needs a boundary parameter');
  let staged: (StagedBlob & { filename: string; mimeType: string }) | undefined;
  const fields: Record<string, string> = {};
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || staged) throw invalid('Send exactly one file, in a part named "file".');
        staged = { ...(await ctx.files.stage(part.file)), filename: part.filename, mimeType: part.mimetype };
      } else if (typeof part.value === 'string') {
        fields[part.fieldname] = part.value;
      }
    }
    if (!staged) throw invalid('file: required (a multipart part named "file")');
    const expiresInSeconds = expiresIn(fields.expires_in_seconds);
    return await ctx.files.commit(staged, { filename: staged.filename, mimeType: staged.mimeType, expiresInSeconds });
  } catch (err) {
    if (staged) await ctx.files.discard(staged);
    throw err;
  }
}

function boundaryOf(contentType: string | undefined): string | undefined {
  try {
    return new MIMEType(contentType ?? '').params.get('boundary') || undefined;
  } catch {
    return undefined;
  }
}

async function listFiles(ctx: AppContext, q: ListQuery) {
  const scopeId = q.scope_id;
  const ids = q.ids;
  if (ids) {
    for (const k of ['page', 'limit', 'after_id', 'before_id'] as const) {
      if (q[k] !== undefined) throw invalid(`ids: cannot be combined with ${k}; the ids filter returns a single page`);
    }
    const data = await ctx.files.list({ ids, scopeId, direction: 'desc', limit: MAX_IDS });
    return { data, next_page: null, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  }
  const req = legacyRequest(q) ?? pageRequest(q, { order: 'desc', defaultLimit: 20 });
  const page = await keysetPage(
    req,
    (f: FileObject) => f.id,
    (f) => ctx.files.list({ ...f, scopeId }),
  );
  // Paging back (`before_id`) reports whether more lies behind; otherwise whether more lies ahead.
  const hasMore = req.cursor?.d === 'prev' ? page.prev_page !== null : page.next_page !== null;
  return {
    data: page.data,
    next_page: page.next_page,
    has_more: hasMore,
    first_id: page.data[0]?.id ?? null,
    last_id: page.data.at(-1)?.id ?? null,
  };
}

/** `after_id` / `before_id` are the legacy spelling of a cursor: continue after, or back before, an id. */
function legacyRequest(q: ListQuery): PageRequest | undefined {
  const after = q.after_id;
  const before = q.before_id;
  if (after === undefined && before === undefined) return undefined;
  if (after !== undefined && before !== undefined) throw invalid('after_id and before_id cannot be used together');
  if (q.page !== undefined) throw invalid('page cannot be combined with after_id or before_id');
  const limit = q.limit ?? 20;
  return { limit, order: 'desc', cursor: after !== undefined ? { k: after, d: 'next', o: 'desc' } : { k: before!, d: 'prev', o: 'desc' } };
}
