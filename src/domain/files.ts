import type { BetaDeletedFile, BetaFileMetadata, BetaFileScope } from '@anthropic-ai/sdk/resources/beta/files';
import { keyset } from '../store/keyset.js';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { BlobStore } from '../store/blobs.js';
import { BlobTooLargeError } from '../store/blobs.js';
import { ApiError, invalid, notFound } from './errors.js';
import { hasPrefix, newId } from './ids.js';
import type { Database } from '../store/schema.js';

export interface FilesTable {
  id: string;
  scope_id: string | null;
  size_bytes: number;
  created_at: string;
  expires_at: string | null;
  data: string;
}

declare module '../store/schema.js' {
  interface Database {
    files: FilesTable;
  }
}

/** FileMetadata on the wire (wire-contract §9.1): the SDK's, with the fields Paddock always sets made required. */
export interface FileMetadata extends BetaFileMetadata {
  downloadable: boolean;
  expires_at: string | null;
  scope: BetaFileScope | null;
}

export const EXPIRES_IN = { min: 3600, max: 7_776_000 };

const EXT_MIME: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  html: 'text/html',
  css: 'text/css',
  xml: 'application/xml',
  json: 'application/json',
  jsonl: 'application/jsonl',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  js: 'text/javascript',
  ts: 'text/x-typescript',
  py: 'text/x-python',
  sh: 'text/x-shellscript',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  zip: 'application/zip',
  tar: 'application/x-tar',
  gz: 'application/gzip',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

const GENERIC = 'application/octet-stream';

function extOf(name: string): string | undefined {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(name);
  return m ? m[1].toLowerCase() : undefined;
}

/**
 * The stored filename: only the last path component of what the client sent (a JS `File` keeps
 * `dir/a.txt`, Windows clients send backslashes); an empty name becomes `unnamed.<ext>`.
 */
export function storedFilename(sent: string | undefined, mimeType: string): string {
  const last = (sent ?? '')
    .split(/[/\\]/)
    .pop()!
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim();
  if (last && last !== '.' && last !== '..') return last.slice(0, 255);
  const ext = Object.entries(EXT_MIME).find(([, m]) => m === mimeType)?.[0] ?? 'bin';
  return `unnamed.${ext}`;
}

/** The client's content type, or one inferred from the extension when it sent none in particular. */
export function storedMimeType(sent: string | undefined, filename: string): string {
  const given = (sent ?? '').split(';')[0].trim().toLowerCase();
  if (given && given !== GENERIC && /^[\w.+-]+\/[\w.+-]+$/.test(given)) return given;
  return EXT_MIME[extOf(filename) ?? ''] ?? GENERIC;
}

export interface StagedBlob {
  id: string;
  size: number;
}

export interface FileListFilter {
  scopeId?: string;
  ids?: string[];
  after?: string;
  before?: string;
  direction: 'asc' | 'desc';
  limit: number;
}

export class Files {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly blobs: BlobStore,
    readonly maxBytes: number,
  ) {}

  /**
   * Streams content into blob storage under a fresh file id, before anything is recorded: an
   * upload's other form fields may still turn out invalid, and then the blob is discarded.
   */
  async stage(content: Readable): Promise<StagedBlob> {
    const id = newId('file');
    try {
      const { size } = await this.blobs.put(id, content, { maxBytes: this.maxBytes });
      return { id, size };
    } catch (err) {
      await this.blobs.delete(id);
      if (err instanceof BlobTooLargeError || (err instanceof Error && 'code' in err && err.code === 'FST_REQ_FILE_TOO_LARGE')) throw tooLarge(this.maxBytes);
      throw err;
    }
  }

  discard(staged: StagedBlob): Promise<void> {
    return this.blobs.delete(staged.id);
  }

  async commit(
    staged: StagedBlob,
    meta: { filename?: string; mimeType?: string; expiresInSeconds?: number; scope?: FileMetadata['scope'] },
  ): Promise<FileMetadata> {
    const mime = storedMimeType(meta.mimeType, storedFilename(meta.filename, GENERIC));
    const now = new Date();
    const file: FileMetadata = {
      type: 'file',
      id: staged.id,
      filename: storedFilename(meta.filename, mime),
      mime_type: mime,
      size_bytes: staged.size,
      created_at: now.toISOString(),
      downloadable: true,
      expires_at: meta.expiresInSeconds ? new Date(now.getTime() + meta.expiresInSeconds * 1000).toISOString() : null,
      scope: meta.scope ?? null,
    } satisfies BetaFileMetadata;
    await this.db
      .insertInto('files')
      .values({
        id: file.id,
        scope_id: file.scope?.id ?? null,
        size_bytes: file.size_bytes,
        created_at: file.created_at,
        expires_at: file.expires_at,
        data: JSON.stringify(file),
      })
      .execute();
    return file;
  }

  /** One step, for server-side producers such as the capture of a session's outputs. */
  async create(content: Readable, meta: Parameters<Files['commit']>[1]): Promise<FileMetadata> {
    return this.commit(await this.stage(content), meta);
  }

  async get(id: string): Promise<FileMetadata> {
    if (!hasPrefix(id, 'file')) throw notFound('File', id);
    const row = await this.db.selectFrom('files').select('data').where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('File', id);
    return readJson<FileMetadata>(row.data);
  }

  /** A file a session may use right now: it exists and has not expired. */
  async getUsable(id: string): Promise<FileMetadata> {
    const f = await this.get(id);
    if (f.expires_at && Date.parse(f.expires_at) <= Date.now()) {
      throw new ApiError(404, 'not_found_error', `File ${id} has expired`, { error_code: 'file_expired' });
    }
    return f;
  }

  async content(id: string): Promise<{ file: FileMetadata; stream: Readable }> {
    const file = await this.getUsable(id);
    if (!file.downloadable) {
      throw new ApiError(400, 'invalid_request_error', `File ${id} is not downloadable`, { error_code: 'file_not_downloadable' });
    }
    return { file, stream: await this.blobs.get(id) };
  }

  /** Where the sandbox can bind-mount the bytes from, when blobs are on local disk. */
  localPath(id: string): string | undefined {
    return this.blobs.localPath(id);
  }

  async delete(id: string): Promise<Required<BetaDeletedFile>> {
    await this.get(id);
    await this.db.deleteFrom('files').where('id', '=', id).execute();
    await this.blobs.delete(id);
    return { id, type: 'file_deleted' };
  }

  async list(f: FileListFilter): Promise<FileMetadata[]> {
    let q = this.db.selectFrom('files').select('data');
    if (f.scopeId) q = q.where('scope_id', '=', f.scopeId);
    if (f.ids) q = q.where('id', 'in', f.ids.length ? f.ids : ['']);
    const rows = await keyset(q, 'id', f).execute();
    return rows.map((r) => readJson<FileMetadata>(r.data));
  }
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'request_too_large', `File is larger than the ${limit}-byte limit.`);
}

export function expiresIn(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value.trim())) throw invalid('expires_in_seconds: must be an integer');
  const n = Number(value.trim());
  if (n < EXPIRES_IN.min || n > EXPIRES_IN.max) throw invalid(`expires_in_seconds: must be between ${EXPIRES_IN.min} and ${EXPIRES_IN.max}`);
  return n;
}
