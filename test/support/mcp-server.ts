import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/**
 * A real MCP server, built with the official `@modelcontextprotocol/sdk`, on 127.0.0.1, that takes
 * only the bearer tokens in `tokens`; and an OAuth token endpoint beside it (`/token`) whose
 * refresh_token grant issues tokens the server then takes. Streamable HTTP at `/mcp` (sessions,
 * SSE answers), or the older HTTP+SSE transport at `/sse` + `/messages` with `transport: 'sse'`.
 *
 * Tools: `echo` {text} → "echo: <text>"; `big` {chars} → that many characters of text;
 * `slow` {ms} → answers after a delay; `leak` → answers with the bearer token it was sent (as a
 * careless server might); `fail` → a JSON-RPC error; `add` {a, b} → the sum. `extraTools` adds
 * that many more (for an oversized tool list).
 */
export interface TestMcpServer {
  /** The URL an agent's `mcp_servers` entry names. */
  url: string;
  base: string;
  tokenUrl: string;
  /** Bearer tokens the MCP endpoints take. */
  tokens: Set<string>;
  /** refresh_token → client id (public clients). The grant rotates the refresh token. */
  refreshTokens: Map<string, string>;
  /** Every token endpoint request, as received. */
  tokenRequests: Array<{ body: string; authorization?: string }>;
  /** The token endpoint waits this long before answering (to make concurrent refreshes overlap). */
  tokenDelayMs: number;
  /** Every `tools/call` that reached a tool, with the token it came with. */
  calls: Array<{ tool: string; args: Record<string, unknown>; token: string | undefined }>;
  /** Every Authorization header any endpoint saw. */
  authorizations: string[];
  /** Requests refused with 401. */
  refused: number;
  /** MCP sessions open now (ended by the client's DELETE, or a closed SSE stream). */
  openSessions(): number;
  /** Stops listening and cuts every connection, as a crashed server would. */
  kill(): Promise<void>;
  /** Listens again on the same port (a restarted server: earlier MCP sessions are gone). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const TOOLS = [
  { name: 'echo', description: 'Echoes text back', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
  {
    name: 'big',
    description: 'Answers with that many characters',
    inputSchema: { type: 'object', properties: { chars: { type: 'number' } }, required: ['chars'] },
  },
  { name: 'slow', description: 'Answers after a delay', inputSchema: { type: 'object', properties: { ms: { type: 'number' } } } },
  { name: 'leak', description: 'Answers with the token it was sent', inputSchema: { type: 'object', properties: {} } },
  { name: 'fail', description: 'Answers with a JSON-RPC error', inputSchema: { type: 'object', properties: {} } },
  {
    name: 'add',
    description: 'Adds two numbers',
    inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
  },
];

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (d) => (s += d));
    req.on('end', () => resolve(s));
  });
}

const bearerOf = (req: IncomingMessage) => /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];

export async function startTestMcpServer(opts: { transport?: 'streamable' | 'sse'; tokens?: string[]; extraTools?: number } = {}): Promise<TestMcpServer> {
  const extra = Array.from({ length: opts.extraTools ?? 0 }, (_, i) => ({
    name: `extra_${i}`,
    description: 'One of many',
    inputSchema: { type: 'object', properties: {} },
  }));
  const mode = opts.transport ?? 'streamable';
  const sessions = new Map<string, Transport>();
  const sockets = new Set<Socket>();
  let n = 0;

  const s: TestMcpServer = {
    url: '',
    base: '',
    tokenUrl: '',
    tokens: new Set(opts.tokens ?? []),
    refreshTokens: new Map(),
    tokenRequests: [],
    tokenDelayMs: 0,
    calls: [],
    authorizations: [],
    refused: 0,
    openSessions: () => sessions.size,
    kill: async () => {},
    restart: async () => {},
    close: async () => {},
  };

  function mcpServer(token: () => string | undefined): Server {
    const server = new Server({ name: 'paddock-test', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [...TOOLS, ...extra] }));
    server.setRequestHandler(CallToolRequestSchema, async (req) => {
      const args = (req.params.arguments ?? {}) as Record<string, any>;
      s.calls.push({ tool: req.params.name, args, token: token() });
      switch (req.params.name) {
        case 'echo':
          return { content: [{ type: 'text', text: `echo: ${args.text}` }] };
        case 'big':
          return { content: [{ type: 'text', text: 'B'.repeat(Number(args.chars)) }] };
        case 'slow':
          await new Promise((r) => setTimeout(r, Number(args.ms ?? 1000)));
          return { content: [{ type: 'text', text: 'slow done' }] };
        case 'leak':
          return { content: [{ type: 'text', text: `I was sent ${token()}` }] };
        case 'add':
          return { content: [{ type: 'text', text: String(Number(args.a) + Number(args.b)) }] };
        case 'fail':
          throw new Error('the fail tool always fails');
        default:
          return { content: [{ type: 'text', text: `no tool ${req.params.name}` }], isError: true };
      }
    });
    return server;
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await read(req);
    s.tokenRequests.push({ body, authorization: req.headers.authorization });
    if (s.tokenDelayMs) await new Promise((r) => setTimeout(r, s.tokenDelayMs));
    const form = new URLSearchParams(body);
    const rt = form.get('refresh_token') ?? '';
    const client = s.refreshTokens.get(rt);
    if (form.get('grant_type') !== 'refresh_token' || client === undefined || form.get('client_id') !== client) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
      return;
    }
    s.refreshTokens.delete(rt);
    const access = `mcp-access-${++n}-${randomUUID()}`;
    const refresh = `mcp-refresh-${n}-${randomUUID()}`;
    s.tokens.add(access);
    s.refreshTokens.set(refresh, client);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: 3600 }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token' && req.method === 'POST') return token(req, res);
    if (req.headers.authorization) s.authorizations.push(req.headers.authorization);
    const tok = bearerOf(req);
    if (!tok || !s.tokens.has(tok)) {
      s.refused++;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      // Echoes what it refused, as careless servers do.
      return void res.end(JSON.stringify({ error: 'invalid_token', detail: `token ${tok} is not valid` }));
    }
    if (mode === 'streamable' && url.pathname === '/mcp') {
      const sid = req.headers['mcp-session-id'] as string | undefined;
      const body = req.method === 'POST' ? JSON.parse((await read(req)) || 'null') : undefined;
      let transport = sid ? (sessions.get(sid) as StreamableHTTPServerTransport | undefined) : undefined;
      if (sid && !transport)
        return void res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
      if (!transport) {
        if (req.method !== 'POST') return void res.writeHead(405).end();
        let current = tok;
        const t = new StreamableHTTPServerTransport({
          enableJsonResponse: process.env.MCP_JSON === '1',
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, t),
        });
        t.onclose = () => t.sessionId && sessions.delete(t.sessionId);
        (t as any).currentToken = (v?: string) => (v === undefined ? current : (current = v));
        await mcpServer(() => current).connect(t);
        transport = t;
      } else {
        (transport as any).currentToken(tok);
      }
      return transport.handleRequest(req, res, body);
    }
    if (mode === 'sse' && url.pathname === '/sse' && req.method === 'GET') {
      let current = tok;
      const t = new SSEServerTransport('/messages', res);
      sessions.set(t.sessionId, t);
      (t as any).currentToken = (v: string) => (current = v);
      res.on('close', () => sessions.delete(t.sessionId));
      await mcpServer(() => current).connect(t);
      return;
    }
    if (mode === 'sse' && url.pathname === '/messages' && req.method === 'POST') {
      const t = sessions.get(url.searchParams.get('sessionId') ?? '') as SSEServerTransport | undefined;
      if (!t) return void res.writeHead(404).end('no such session');
      (t as any).currentToken(tok);
      return t.handlePostMessage(req, res, JSON.parse(await read(req)));
    }
    // A Streamable HTTP client's first POST to a legacy server.
    res.writeHead(mode === 'sse' && url.pathname === '/sse' ? 405 : 404).end();
  }

  let http: HttpServer;
  let port = 0;
  async function listen(): Promise<void> {
    http = createServer((req, res) => {
      handle(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
        else res.end();
      });
    });
    http.on('connection', (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
  }
  async function stop(): Promise<void> {
    for (const t of sessions.values()) await t.close().catch(() => {});
    sessions.clear();
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => http.close(() => r()));
  }

  await listen();
  s.base = `http://127.0.0.1:${port}`;
  s.url = `${s.base}${mode === 'sse' ? '/sse' : '/mcp'}`;
  s.tokenUrl = `${s.base}/token`;
  s.kill = stop;
  s.restart = listen;
  s.close = stop;
  return s;
}
