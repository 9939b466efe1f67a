import net from 'node:net';

/**
 * One keep-alive TCP connection speaking HTTP/1.1 by hand, for what fetch and the SDK hide: which
 * connection a request goes out on, and a request whose body the server stops reading.
 */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawConnection {
  /** Writes bytes as they are (a request, or part of one). */
  write(data: string | Buffer): void;
  /** The next complete response on this connection; rejects after `timeoutMs` or if the connection ends first. */
  response(timeoutMs?: number): Promise<RawResponse>;
  /** True once the server closed its side. */
  readonly ended: boolean;
  close(): void;
}

export async function rawConnection(url: string): Promise<RawConnection> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  let buf = Buffer.alloc(0);
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });

  /** A response parsed off the front of the buffer, if a whole one is there (content-length or chunked). */
  const take = (): RawResponse | undefined => {
    const head = buf.indexOf('\r\n\r\n');
    if (head < 0) return undefined;
    const lines = buf.subarray(0, head).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let rest = buf.subarray(head + 4);
    if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = rest.indexOf('\r\n');
        if (eol < 0) return undefined;
        const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
        if (rest.length < eol + 2 + size + 2) return undefined;
        parts.push(rest.subarray(eol + 2, eol + 2 + size));
        rest = rest.subarray(eol + 2 + size + 2);
        if (size === 0) break;
      }
      buf = rest;
      return { status, headers, body: Buffer.concat(parts).toString('utf8') };
    }
    const length = Number(headers['content-length'] ?? 0);
    if (rest.length < length) return undefined;
    buf = rest.subarray(length);
    return { status, headers, body: rest.subarray(0, length).toString('utf8') };
  };

  return {
    write: (data) => void socket.write(data),
    async response(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = take();
        if (r) return r;
        if (ended) throw new Error(`the connection ended before a complete response; got ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no response within ${timeoutMs} ms on this connection`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    get ended() {
      return ended;
    },
    close: () => socket.destroy(),
  };
}

/** A multipart/form-data body with one part of `size` bytes under `name`. */
export function multipartBody(name: string, size: number, boundary = 'paddockboundary'): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"; filename="data.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`),
    Buffer.alloc(size, 'x'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

/** An HTTP/1.1 request with a body, as bytes (keep-alive is HTTP/1.1's default). */
export function request(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Buffer {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const all = { host: '127.0.0.1', ...headers, ...(body !== undefined ? { 'content-length': String(b.length) } : {}) };
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), b]);
}
