import { Readable, Transform, type TransformCallback } from 'node:stream';

/**
 * Placeholder → secret substitution on the bytes of an outgoing request. Every placeholder has
 * the same prefix and length (src/sandbox/egress/inject.ts makes them), so a body is rewritten
 * as it streams with a carry of at most one placeholder's length between chunks.
 */
export class Substitution {
  readonly length: number;

  constructor(
    readonly prefix: string,
    /** placeholder → secret; every placeholder starts with `prefix` and has the same length. */
    private readonly values: ReadonlyMap<string, string>,
  ) {
    const lengths = new Set([...values.keys()].map((k) => k.length));
    if (lengths.size > 1 || [...values.keys()].some((k) => !k.startsWith(prefix))) throw new Error('placeholders must share a prefix and a length');
    this.length = [...lengths][0] ?? prefix.length;
  }

  get empty(): boolean {
    return this.values.size === 0;
  }

  /** A header value with each placeholder replaced. */
  text(value: string): string {
    if (!value.includes(this.prefix)) return value;
    let out = value;
    for (const [ph, secret] of this.values) out = out.split(ph).join(secret);
    return out;
  }

  /** A stream transform replacing placeholders in a body, split across chunks or not. */
  transform(): Transform {
    const prefix = Buffer.from(this.prefix, 'latin1');
    const len = this.length;
    const values = new Map([...this.values].map(([k, v]) => [k, Buffer.from(v, 'utf8')]));
    let carry = Buffer.alloc(0);
    return new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        const out: Buffer[] = [];
        let i = 0;
        for (;;) {
          const j = buf.indexOf(prefix, i);
          if (j < 0 || j + len > buf.length) break;
          const secret = values.get(buf.toString('latin1', j, j + len));
          if (secret) {
            out.push(buf.subarray(i, j), secret);
            i = j + len;
          } else {
            out.push(buf.subarray(i, j + 1));
            i = j + 1;
          }
        }
        // The last len-1 bytes may be the start of a placeholder that the next chunk completes.
        const keep = Math.max(i, buf.length - (len - 1));
        out.push(buf.subarray(i, keep));
        carry = Buffer.from(buf.subarray(keep));
        cb(null, Buffer.concat(out));
      },
      flush(cb: TransformCallback) {
        cb(null, carry);
      },
    });
  }
}

/**
 * Reads a (substituted) body up to `limit` bytes: a body that ends within it comes back whole,
 * so it can be sent with an exact Content-Length; a longer one comes back as a stream of what was
 * read followed by the rest (sent chunked). Memory stays bounded by `limit` either way.
 */
export async function bufferUpTo(body: Readable, limit: number): Promise<{ whole: Buffer } | { stream: Readable }> {
  const chunks: Buffer[] = [];
  let size = 0;
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await it.next();
    if (next.done) return { whole: Buffer.concat(chunks) };
    const chunk = next.value as Buffer;
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) {
      async function* rest() {
        yield* chunks.splice(0);
        for (;;) {
          const n = await it.next();
          if (n.done) return;
          yield n.value as Buffer;
        }
      }
      return { stream: Readable.from(rest(), { objectMode: false }) };
    }
  }
}
