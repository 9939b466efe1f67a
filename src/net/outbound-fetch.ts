import type { Outbound } from './outbound.js';

/** A response body grew past the limit the caller set; it was cut off. */
export class ResponseTooLarge extends Error {}

export interface OutboundFetchOptions {
  /** Bytes read from one response body at most; past it the body errors with ResponseTooLarge. */
  maxResponseBytes: number;
  /** Told when a body was cut off (a stream's reader may only see a generic error). */
  onTooLarge?: (url: string) => void;
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

const NULL_BODY = new Set([204, 205, 304]);

/**
 * A WHATWG `fetch` over the outbound port, for libraries that take a custom fetch (the MCP SDK's
 * transports): every request is resolved, checked and connected to the checked address by
 * `Outbound`, redirects come back unfollowed, and each body is streamed with a byte limit.
 * Request bodies are strings (all these libraries send).
 */
export function outboundFetch(outbound: Outbound, opts: OutboundFetchOptions): FetchLike {
  return async (input, init = {}) => {
    const url = String(input);
    if (init.body != null && typeof init.body !== 'string') throw new TypeError('outbound fetch sends string bodies only');
    const method = (init.method ?? 'GET').toUpperCase();
    const res = await outbound.open(url, {
      method,
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: init.body ?? undefined,
      signal: init.signal ?? undefined,
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 599) {
      res.destroy();
      throw new Error(`${url} answered with HTTP status ${status}`);
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) headers.append(k, x);
    const meta = { status, statusText: res.statusMessage ?? '', headers };
    if (NULL_BODY.has(status) || method === 'HEAD') {
      res.resume();
      return new Response(null, meta);
    }
    let seen = 0;
    let settled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const fail = (err: Error) => {
          if (settled) return;
          settled = true;
          controller.error(err);
          res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          seen += chunk.length;
          if (seen > opts.maxResponseBytes) {
            opts.onTooLarge?.(url);
            return fail(new ResponseTooLarge(`the response from ${new URL(url).origin} is larger than ${opts.maxResponseBytes} bytes`));
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          if ((controller.desiredSize ?? 1) <= 0) res.pause();
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        res.on('error', (err) => fail(err));
        res.on('close', () => fail(new Error(`the connection to ${new URL(url).origin} closed before the response ended`)));
      },
      pull() {
        res.resume();
      },
      cancel() {
        settled = true;
        res.destroy();
      },
    });
    return new Response(body, meta);
  };
}
