import { promises as fs } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { EgressRefused, type EgressGate } from './gate.js';

/**
 * The egress proxy of one sandbox: an HTTP proxy (CONNECT for TLS, absolute-form requests for
 * plain HTTP) listening on a unix socket that is the sandbox's only way out of its network
 * namespace. Every connection goes through the session's EgressGate.
 */
export class EgressProxy {
  private server?: http.Server;

  constructor(
    private readonly socketPath: string,
    private readonly gate: EgressGate,
  ) {}

  async start(): Promise<void> {
    await fs.rm(this.socketPath, { force: true });
    const server = http.createServer((req, res) => void this.forward(req, res));
    server.on('connect', (req, client: net.Socket, head: Buffer) => void this.tunnel(req, client, head));
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.socketPath, resolve));
    // The sandbox runs as another user; the socket is its door out (it sees no other path here).
    await fs.chmod(this.socketPath, 0o666);
    this.server = server;
  }

  private async tunnel(req: http.IncomingMessage, client: net.Socket, head: Buffer): Promise<void> {
    client.on('error', () => {});
    const { host, port } = splitHostPort(req.url ?? '', 443);
    try {
      const upstream = await this.gate.connect(host, port);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    } catch (err) {
      const msg = err instanceof EgressRefused ? err.message : `could not connect to ${host}:${port}: ${(err as Error).message}`;
      client.end(`HTTP/1.1 ${err instanceof EgressRefused ? 403 : 502} Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg) + 1}\r\nConnection: close\r\n\r\n${msg}\n`);
    }
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Error('only http:// URLs are proxied without CONNECT');
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad proxy request: ${(err as Error).message}\n`);
      return;
    }
    try {
      const port = url.port ? Number(url.port) : 80;
      const socket = await this.gate.connect(url.hostname, port);
      const headers = { ...req.headers };
      delete headers['proxy-connection'];
      delete headers['proxy-authorization'];
      const upstream = http.request(
        { host: url.hostname, port, method: req.method, path: url.pathname + url.search, headers, createConnection: () => socket },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (e) => res.destroy(e));
      req.pipe(upstream);
    } catch (err) {
      const refused = err instanceof EgressRefused;
      res.writeHead(refused ? 403 : 502, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fs.rm(this.socketPath, { force: true });
  }
}

export function splitHostPort(target: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(target);
  if (!m) return { host: target, port: defaultPort };
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}
