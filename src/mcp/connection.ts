import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Logger } from 'pino';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CredentialUnusable, type McpCredential } from '../domain/credentials.js';
import { outboundFetch, ResponseTooLarge, type FetchLike } from '../net/outbound-fetch.js';
import { OutboundRefused, type Outbound } from '../net/outbound.js';
import { HostError } from '../net/resolve.js';
import type { McpFailure, McpToolOffer } from '../runtime/mcp-port.js';
import { redactValues } from '../vault/oauth.js';
import { codeOf, messageOf } from '../error-info.js';

export interface McpLimits {
  /** Connecting (initialize) and listing the tools, together. */
  connectTimeoutMs: number;
  /** One tool call. */
  callTimeoutMs: number;
  /** Bytes of one HTTP response body. */
  maxResponseBytes: number;
  /** Tools one server may list. */
  maxTools: number;
}

/** Pages of `tools/list` read at most (a server that pages forever is cut off). */
const MAX_PAGES = 100;
/** How long closing waits for the server to acknowledge the end of the MCP session. */
const CLOSE_WAIT_MS = 2000;

/** A server could not be used; carries the failure as the port reports it. */
export class McpServerError extends Error {
  constructor(readonly failure: McpFailure) {
    super(failure.message);
  }
}

/** How the session's call went, when the server did answer: a tool error is a result, not a failure. */
export type CallAnswer = { kind: 'result'; result: CallToolResult } | { kind: 'tool_error'; message: string };

/**
 * One MCP client connection of one session to one server, made when first needed: Streamable
 * HTTP, or the older HTTP+SSE transport when the server answers the Streamable HTTP handshake with
 * a 4xx. Every HTTP request leaves through the outbound port with a bounded body, and carries the
 * credential's bearer token, read from the vault per request (so an update or an archive takes
 * effect at once). A 401 gets one more try with a newer or refreshed token; a second 401 is an
 * authentication failure. A connection that failed is closed and not used again.
 */
export class McpConnection {
  private client?: Promise<Client>;
  private tools?: McpToolOffer[];
  /** What the HTTP layer saw that the SDK's error may not say (a 401, an oversized body). */
  private fault?: McpFailure;
  /** Tokens sent to this server: taken out of whatever it answers. */
  private readonly sent = new Set<string>();
  private readonly fetch: FetchLike;
  private readonly where: string;
  lastUsed = Date.now();
  /** Lists and calls under way (an idle sweep leaves a busy connection alone). */
  busy = 0;
  closed = false;

  constructor(
    readonly server: string,
    readonly url: string,
    private readonly credential: McpCredential | undefined,
    outbound: Outbound,
    private readonly limits: McpLimits,
    /** Carries the session and server the connection is for. */
    private readonly log: Logger,
  ) {
    this.where = `MCP server ${server} (${new URL(url).host})`;
    const base = outboundFetch(outbound, {
      maxResponseBytes: limits.maxResponseBytes,
      onTooLarge: () => this.faulted('connection', `${this.where} sent a response larger than ${limits.maxResponseBytes} bytes`),
    });
    this.fetch = (u, init) => this.authorized(base, u, init);
  }

  /** The server's tools, listed once per connection (again after it says its list changed). */
  async list(signal: AbortSignal): Promise<McpToolOffer[]> {
    this.lastUsed = Date.now();
    if (this.tools) return this.tools;
    this.busy++;
    try {
      return await this.listing(signal);
    } finally {
      this.busy--;
      this.lastUsed = Date.now();
    }
  }

  private listing(signal: AbortSignal): Promise<McpToolOffer[]> {
    return this.within(this.limits.connectTimeoutMs, signal, 'connect and list its tools', async (sig) => {
      const client = await this.ready();
      const offers: McpToolOffer[] = [];
      let cursor: string | undefined;
      for (let page = 1; ; page++) {
        const res = await client.listTools(cursor ? { cursor } : undefined, { signal: sig, timeout: this.limits.connectTimeoutMs });
        for (const t of res.tools) {
          offers.push({ server: this.server, name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: t.inputSchema });
        }
        if (offers.length > this.limits.maxTools)
          throw this.faulted('connection', `${this.where} lists more than ${this.limits.maxTools} tools, more than Paddock offers a model from one server`);
        if (!res.nextCursor) break;
        if (page >= MAX_PAGES) throw this.faulted('connection', `${this.where} pages its tool list past ${MAX_PAGES} pages`);
        cursor = res.nextCursor;
      }
      this.tools = offers;
      return offers;
    });
  }

  /** One tool call. Throws McpServerError when the server cannot be used; an answer, even an error, is returned. */
  async call(tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<CallAnswer> {
    this.busy++;
    try {
      return await this.calling(tool, input, signal, false);
    } finally {
      this.busy--;
      this.lastUsed = Date.now();
    }
  }

  private async calling(tool: string, input: Record<string, unknown>, signal: AbortSignal, retried: boolean): Promise<CallAnswer> {
    const client = await this.within(this.limits.connectTimeoutMs, signal, 'connect', () => this.ready());
    try {
      // The default result schema is CallToolResultSchema: what comes back has `content`.
      const result = (await client.callTool({ name: tool, arguments: input }, undefined, { signal, timeout: this.limits.callTimeoutMs })) as CallToolResult;
      return { kind: 'result', result };
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof StreamableHTTPError && err.code === 404 && !retried && !this.fault) {
        // The server no longer knows this MCP session (it restarted): the call did not run there.
        this.client = undefined;
        this.tools = undefined;
        void client.close().catch(() => {});
        return this.calling(tool, input, signal, true);
      }
      if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) {
        // The call may still be running there: this connection is not reused for the next one.
        void this.close();
        return { kind: 'tool_error', message: `${this.where} did not answer the call within ${this.limits.callTimeoutMs / 1000} s.` };
      }
      if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed && !this.fault) {
        return { kind: 'tool_error', message: this.clean(`${this.where} answered: ${err.message}`) };
      }
      throw this.failure(err);
    }
  }

  /** Text from the server, less any token that was sent to it. */
  clean(text: string): string {
    return redactValues(text, [...this.sent]);
  }

  get secrets(): string[] {
    return [...this.sent];
  }

  /** Ends the MCP session at the server (Streamable HTTP's DELETE, bounded: a dead server does not hold this up) and closes. */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    const c = await client?.catch(() => undefined);
    if (!c) return;
    if (c.transport instanceof StreamableHTTPClientTransport && !this.fault) {
      const ended = c.transport.terminateSession().catch(() => {});
      await Promise.race([ended, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    }
    await c.close().catch(() => {});
  }

  /** An error from the SDK or the HTTP layer, as the port reports it. */
  failure(err: unknown): McpServerError {
    if (err instanceof McpServerError) return err;
    if (this.fault) return new McpServerError(this.fault);
    return new McpServerError({ kind: 'connection', server: this.server, message: `${this.where} could not be used: ${this.reason(err)}` });
  }

  private reason(err: unknown): string {
    if (err instanceof OutboundRefused || err instanceof HostError || err instanceof ResponseTooLarge) return err.message;
    if (err instanceof StreamableHTTPError) return err.code && err.code > 0 ? `it answered HTTP ${err.code}` : 'its answer was not an MCP message';
    if (err instanceof McpError) return err.code === ErrorCode.ConnectionClosed ? 'the connection closed' : this.clean(err.message).slice(0, 300);
    const code = codeOf(err) ?? (err instanceof Error ? codeOf(err.cause) : undefined);
    if (code !== undefined && /^E[A-Z]+$/.test(code)) return code === 'ECONNREFUSED' ? 'connection refused' : code;
    if (err instanceof SyntaxError || (err instanceof Error && err.name === 'ZodError')) return 'its answer was not well-formed JSON-RPC';
    return this.clean(messageOf(err)).slice(0, 300);
  }

  private ready(): Promise<Client> {
    if (this.closed) return Promise.reject(this.failure(new Error('the connection was closed')));
    this.client ??= this.connect();
    // A failed attempt is not kept: the connection is dropped by its owner, and a later one starts over.
    return this.client;
  }

  private async connect(): Promise<Client> {
    const url = new URL(this.url);
    try {
      return await this.open(new StreamableHTTPClientTransport(url, { fetch: this.fetch }));
    } catch (err) {
      // A server that predates Streamable HTTP answers its POST with a 4xx: try the HTTP+SSE transport.
      const legacy = err instanceof StreamableHTTPError && err.code !== undefined && err.code >= 400 && err.code < 500 && err.code !== 401 && err.code !== 403;
      if (this.fault || !legacy) throw err;
    }
    return this.open(new SSEClientTransport(url, { fetch: this.fetch }));
  }

  private async open(transport: Transport): Promise<Client> {
    const client = new Client({ name: 'paddock', version: '0.1.0' }, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      this.tools = undefined;
    });
    try {
      await client.connect(transport, { timeout: this.limits.connectTimeoutMs });
    } catch (err) {
      await client.close().catch(() => {});
      throw err;
    }
    this.log.info(
      { transport: transport instanceof SSEClientTransport ? 'sse' : 'streamable_http', server_version: client.getServerVersion()?.version },
      'mcp server connected',
    );
    return client;
  }

  /**
   * Runs `fn` with a deadline: past it the connection is closed (some SDK waits take no signal)
   * and a connection failure is thrown. The caller's abort (an interrupt) passes through as is.
   */
  private async within<T>(ms: number, outer: AbortSignal, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onAbort = () => {};
    const late = new Promise<never>((_, reject) => {
      onAbort = () => {
        ctl.abort(outer.reason);
        reject(outer.reason);
      };
      timer = setTimeout(() => {
        reject(this.faulted('connection', `${this.where} did not ${what} within ${ms / 1000} s`));
        ctl.abort('timeout');
        void this.close();
      }, ms);
    });
    if (outer.aborted) onAbort();
    else outer.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([fn(ctl.signal), late]);
    } catch (err) {
      if (outer.aborted) throw err;
      throw this.failure(err);
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    }
  }

  private faulted(kind: McpFailure['kind'], message: string): McpServerError {
    this.fault ??= { kind, server: this.server, message };
    return new McpServerError(this.fault);
  }

  /** Sends a request with the credential's token; after a 401, once more with a newer or refreshed one. */
  private async authorized(base: FetchLike, url: string | URL, init: RequestInit = {}): Promise<Response> {
    const send = (token: string | undefined) => {
      const headers = new Headers(init.headers);
      if (token !== undefined) {
        this.sent.add(token);
        headers.set('authorization', `Bearer ${token}`);
      }
      return base(url, { ...init, headers });
    };
    const token = this.credential ? await this.bearer() : undefined;
    const res = await send(token);
    if (res.status !== 401) return res;
    await res.body?.cancel().catch(() => {});
    if (!this.credential) {
      throw this.faulted('authentication', `${this.where} requires authorization, and no vault of the session holds a credential for its URL`);
    }
    const next = await this.bearer(token);
    if (next !== token) {
      const again = await send(next);
      if (again.status !== 401) return again;
      await again.body?.cancel().catch(() => {});
    }
    const c = this.credential;
    throw this.faulted(
      'authentication',
      `${this.where} refused the token of credential ${c.credentialId} (vault ${c.vaultId})${next !== token ? ', also after a refresh' : ''}`,
    );
  }

  private async bearer(rejected?: string): Promise<string> {
    try {
      return await this.credential!.accessToken(rejected);
    } catch (err) {
      const why = err instanceof CredentialUnusable ? err.message : `credential ${this.credential!.credentialId} could not be read`;
      throw this.faulted('authentication', `${this.where}: ${why}`);
    }
  }
}
