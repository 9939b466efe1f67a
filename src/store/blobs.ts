import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';

/** Raised when a stream grows past the limit given to `put`; the partial blob is removed. */
export class BlobTooLargeError extends Error {
  readonly code = 'BLOB_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`blob exceeds ${limit} bytes`);
  }
}

/**
 * Where file contents live (DESIGN.md: one port per outside thing). Contents are streamed in and
 * out, never held whole in memory. Keys are opaque to callers; use the file id.
 */
export interface BlobStore {
  /** Streams `source` into the blob `key`, replacing it only once the whole stream arrived. */
  put(key: string, source: Readable, opts?: { maxBytes?: number }): Promise<{ size: number }>;
  get(key: string): Promise<Readable>;
  delete(key: string): Promise<void>;
  /** A path on this machine holding the bytes (for bind mounts), when the store has one. */
  localPath(key: string): string | undefined;
}

const KEY_RE = /^[A-Za-z0-9_-]{1,200}$/;

/** The default: one file per blob under `<dataDir>/blobs`, fanned out by a short prefix. */
export class LocalDiskBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`invalid blob key`);
    return path.join(this.root, key.slice(-2), key);
  }

  async put(key: string, source: Readable, opts: { maxBytes?: number } = {}): Promise<{ size: number }> {
    const final = this.pathOf(key);
    await fs.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
    const tmp = `${final}.${randomBytes(6).toString('hex')}.part`;
    let size = 0;
    const max = opts.maxBytes ?? Infinity;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) done(new BlobTooLargeError(max));
        else done(null, chunk);
      },
    });
    try {
      await pipeline(source, counter, createWriteStream(tmp, { mode: 0o600 }));
      await fs.rename(tmp, final);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return { size };
  }

  async get(key: string): Promise<Readable> {
    const p = this.pathOf(key);
    await fs.access(p);
    return createReadStream(p);
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  localPath(key: string): string | undefined {
    return this.pathOf(key);
  }
}
