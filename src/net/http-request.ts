import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body was cut at `maxBytes`, or the response ended early (deadline, abort). */
  truncated: boolean;
}

export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** Aborts the request; once a response has started, what arrived so far is returned. */
  signal?: AbortSignal;
  /** The socket may stay idle this long. */
  idleTimeoutMs: number;
  maxBytes: number;
}

export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * One HTTP/1.1 request over a connection the caller opened to an address it checked, so that no
 * name is ever looked up again between the check and the bytes. TLS is verified against the URL's
 * host; redirects are returned to the caller, never followed here.
 */
export function requestOver(url: URL, socket: net.Socket, opts: RequestOptions): Promise<HttpResult> {
  const conn = secured(url, socket);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        createConnection: () => conn,
        method: opts.method,
        path: url.pathname + url.search,
        headers: { host: url.host, ...opts.headers },
        signal: opts.signal,
        timeout: opts.idleTimeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (c: Buffer) => {
          const room = opts.maxBytes - size;
          if (c.length >= room) {
            chunks.push(c.subarray(0, room));
            size += room;
            truncated = c.length > room || truncated;
            if (truncated) res.destroy();
            return;
          }
          chunks.push(c);
          size += c.length;
        });
        res.on('error', () => {});
        res.on('close', () => {
          conn.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated: truncated || !res.complete });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no data for ${opts.idleTimeoutMs}ms`)));
    req.on('error', (err) => {
      conn.destroy();
      reject(err);
    });
    req.end(opts.body);
  });
}

/** TLS over the checked connection for https, verified against the URL's host; the socket itself for http. */
function secured(url: URL, socket: net.Socket): net.Socket {
  if (url.protocol !== 'https:') return socket;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return tls.connect({ socket, host, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] });
}

export interface StreamOptions {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** Aborts the request and, once it has started, the response body. */
  signal?: AbortSignal;
}

/**
 * Like `requestOver`, but answers as soon as the response headers arrive, with the body still
 * streaming (an event stream may stay open for as long as the caller reads it). The caller bounds
 * what it reads; the connection closes with the response.
 */
export function streamOver(url: URL, socket: net.Socket, opts: StreamOptions): Promise<http.IncomingMessage> {
  const conn = secured(url, socket);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { createConnection: () => conn, method: opts.method, path: url.pathname + url.search, headers: { host: url.host, ...opts.headers }, signal: opts.signal },
      (res) => {
        res.on('close', () => conn.destroy());
        resolve(res);
      },
    );
    req.on('error', (err) => {
      conn.destroy();
      reject(err);
    });
    req.end(opts.body);
  });
}
