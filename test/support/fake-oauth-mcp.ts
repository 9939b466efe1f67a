import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in MCP server and OAuth token endpoint on 127.0.0.1, so credential validation and
 * refresh are exercised over real HTTP. `/mcp` accepts only `validTokens`; `/token` runs the
 * refresh_token grant, checks the client authentication, and rotates both tokens.
 */
export interface FakeOAuthMcp {
  url: string;
  mcpUrl: string;
  tokenUrl: string;
  validTokens: Set<string>;
  /** refresh token → the client secret it needs (undefined: public client). */
  refreshTokens: Map<string, { clientId: string; clientSecret?: string; via?: 'basic' | 'post' }>;
  issued: string[];
  close(): Promise<void>;
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (d) => (s += d));
    req.on('end', () => resolve(s));
  });
}

export async function startFakeOAuthMcp(): Promise<FakeOAuthMcp> {
  const validTokens = new Set<string>();
  const refreshTokens = new Map<string, { clientId: string; clientSecret?: string; via?: 'basic' | 'post' }>();
  const issued: string[] = [];
  let n = 0;
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    const route = (req.url ?? '').split('?')[0];
    if (route === '/mcp' && req.method === 'POST') {
      const tok = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!tok || !validTokens.has(tok)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
        // Echoes the token it refused, as careless servers do: Paddock must redact it.
        return res.end(JSON.stringify({ error: 'invalid_token', detail: `token ${tok} is not valid` }));
      }
      const id = JSON.parse(body).id;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'fake', version: '1' } } }),
      );
    }
    if (route === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      const rt = form.get('refresh_token') ?? '';
      const grant = refreshTokens.get(rt);
      let ok = form.get('grant_type') === 'refresh_token' && grant !== undefined;
      if (ok && grant!.via === 'basic') {
        const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
        ok = basic === `${encodeURIComponent(grant!.clientId)}:${encodeURIComponent(grant!.clientSecret ?? '')}`;
      } else if (ok) {
        ok = form.get('client_id') === grant!.clientId && (grant!.via !== 'post' || form.get('client_secret') === grant!.clientSecret);
      }
      if (!ok) {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: 'invalid_grant', refresh_token: rt }));
      }
      refreshTokens.delete(rt);
      const access = `fresh-access-${++n}-${Math.random().toString(36).slice(2)}`;
      const refresh = `fresh-refresh-${n}-${Math.random().toString(36).slice(2)}`;
      validTokens.add(access);
      refreshTokens.set(refresh, grant!);
      issued.push(access, refresh);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: 3600 }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    mcpUrl: `${url}/mcp`,
    tokenUrl: `${url}/token`,
    validTokens,
    refreshTokens,
    issued,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
