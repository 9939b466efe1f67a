import { Type } from '@sinclair/typebox';
import { EXPIRES_IN } from '../../domain/files.js';
import { Nullable, PageQuery } from './common.js';

/** Files (wire-contract §7). */

export const MAX_IDS = 100;

/** Both pagination shapes: PageCursor (`page`) and the legacy Page (`after_id` / `before_id`). */
export const FileListQuery = Type.Object({
  scope_id: Type.Optional(Type.String()),
  ids: Type.Optional(Type.Array(Type.String(), { maxItems: MAX_IDS, 'x-error': { maxItems: `at most ${MAX_IDS} ids` } })),
  after_id: Type.Optional(Type.String()),
  before_id: Type.Optional(Type.String()),
  ...PageQuery(1000),
});

/** Multipart: read as it streams by the handler, which checks it (src/http/routes/files.ts). */
export const FileUpload = {
  content: {
    'multipart/form-data': {
      schema: Type.Object({
        file: Type.String({ contentEncoding: 'binary', description: 'The file content; its filename and content type are kept.' }),
        expires_in_seconds: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: `${EXPIRES_IN.min}-${EXPIRES_IN.max}` })),
      }),
    },
  },
};

export const FileMetadata = Type.Object({
  type: Type.Literal('file'),
  id: Type.String(),
  filename: Type.String(),
  mime_type: Type.String(),
  size_bytes: Type.Integer({ minimum: 0 }),
  created_at: Type.String(),
  downloadable: Type.Boolean(),
  expires_at: Nullable(Type.String()),
  scope: Nullable(Type.Object({ type: Type.Literal('session'), id: Type.String() })),
});

export const FilePage = Type.Object({
  data: Type.Array(FileMetadata),
  next_page: Nullable(Type.String()),
  has_more: Type.Boolean(),
  first_id: Nullable(Type.String()),
  last_id: Nullable(Type.String()),
});
