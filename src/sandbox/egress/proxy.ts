import { promises as fs } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { canonicalHost } from '../../net/resolve.js';
import type { EgressCA } from './ca.js';
import { EgressRefused, type EgressGate } from './gate.js';
import type { Injector, Target } from './inject.js';
import { bufferUpTo } from './substitute.js';
import { messageOf } from '../../error-info.js';

/** Bodies with placeholders to replace are held up to this size to keep an exact Content-Length; longer ones go chunked. */
const BODY_BUFFER_BYTES = 1024 * 1024;
/** Header size a sandbox may send through the proxy (Node's default, stated). */
const MAX_HEADER_BYTES = 16 * 1024;
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade', 'expect'];

/** What the proxy needs to open up HTTPS for the hosts where it adds credentials. */
export interface Interception {
  injector: Injector;
  ca: EgressCA;
  /** Trust for the real servers behind intercepted connections (the host's store, plus the operator's extra CAs). */
  upstreamTrust: tls.SecureContext;
  log: Logger;
}

interface Tunnel {
  host: string;
  port: number;
  /** The connection opened (and checked) when the tunnel was asked for, used by its first request. */
  spare?: net.Socket;
}

/**
 * The egress proxy of one sandbox: an HTTP proxy (CONNECT for TLS, absolute-form requests for
 * plain HTTP) listening on a unix socket that is the sandbox's only way out of its network
 * namespace. Every connection goes through the session's EgressGate. CONNECT is a blind tunnel,
 * except to hosts where the Injector adds something: there TLS is terminated with the
 * installation's egress CA (which sandboxes trust), each request gets its additions, and goes on
 * over TLS that verifies the real server's certificate.
 */
export class EgressProxy {
  private server?: http.Server;
  private readonly inner: http.Server;
  private readonly tunnels = new WeakMap<net.Socket, Tunnel>();
  private readonly open = new Set<net.Socket>();

  constructor(
    private readonly socketPath: string,
    private readonly gate: EgressGate,
    private readonly intercept?: Interception,
  ) {
    // Requests inside intercepted tunnels; fed connections by hand, never listening. An upload
    // may take long (a git push), so there is no overall request deadline, only the header one.
    this.inner = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0 }, (req, res) => void this.tunnelled(req, res));
    this.inner.on('clientError', (_err, socket) => socket.destroy());
  }

  async start(): Promise<void> {
    await fs.rm(this.socketPath, { force: true });
    const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => void this.plain(req, res));
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
    let upstream: net.Socket;
    try {
      upstream = await this.gate.connect(host, port);
    } catch (err) {
      const refused = err instanceof EgressRefused;
      const msg = refused ? messageOf(err) : `could not connect to ${host}:${port}: ${messageOf(err)}`;
      client.end(
        `HTTP/1.1 ${refused ? '403 Forbidden' : '502 Bad Gateway'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg) + 1}\r\nConnection: close\r\n\r\n${msg}\n`,
      );
      return;
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (this.intercept?.injector.intercepts(host, port)) return this.terminate(client, head, { host: canonicalHost(host), port, spare: upstream });
    if (head.length) upstream.write(head);
    upstream.pipe(client).pipe(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }

  /** Ends the sandbox's TLS here, with a certificate for the host from the egress CA. */
  private async terminate(client: net.Socket, head: Buffer, tunnel: Tunnel): Promise<void> {
    const { ca, log } = this.intercept!;
    let secureContext: tls.SecureContext;
    try {
      secureContext = await ca.contextFor(tunnel.host);
    } catch (err) {
      log.error({ err, host: tunnel.host }, 'egress: could not mint a certificate');
      tunnel.spare?.destroy();
      client.destroy();
      return;
    }
    if (head.length) client.unshift(head);
    const tlsClient = new tls.TLSSocket(client, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
    let secured = false;
    tlsClient.once('secure', () => (secured = true));
    tlsClient.on('error', (err) => {
      // Most often a program with a certificate store of its own, which does not trust the egress CA.
      if (!secured)
        log.info({ host: tunnel.host, err: err.message }, 'egress: a sandbox program refused the TLS handshake for a host where credentials are added');
      client.destroy();
    });
    this.open.add(tlsClient);
    tlsClient.on('close', () => {
      this.open.delete(tlsClient);
      tunnel.spare?.destroy();
    });
    this.tunnels.set(tlsClient, tunnel);
    this.inner.emit('connection', tlsClient);
  }

  /** A request inside an intercepted tunnel: always to the tunnel's host, over verified TLS. */
  private async tunnelled(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const tunnel = this.tunnels.get(req.socket as net.Socket);
    if (!tunnel) return void res.writeHead(500).end();
    const authority = `${net.isIPv6(tunnel.host) ? `[${tunnel.host}]` : tunnel.host}:${tunnel.port}`;
    let url: URL;
    try {
      url = new URL(req.url ?? '', `https://${authority}`);
      if (url.protocol !== 'https:' || url.host !== new URL(`https://${authority}`).host) throw new Error(`this tunnel goes to ${authority} only`);
    } catch (err) {
      return void res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad request: ${messageOf(err)}\n`);
    }
    const open = async (): Promise<net.Socket> => {
      const raw = tunnel.spare ?? (await this.gate.connect(tunnel.host, tunnel.port));
      tunnel.spare = undefined;
      return verifiedTls(raw, tunnel.host, this.intercept!.upstreamTrust);
    };
    await this.forward(req, res, { protocol: 'https:', host: tunnel.host, port: tunnel.port, path: url.pathname + url.search }, url.host, open);
  }

  /** A plain-HTTP request in absolute form. */
  private async plain(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    let host: string;
    try {
      url = new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Error('only http:// URLs are proxied without CONNECT');
      host = canonicalHost(url.hostname);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad proxy request: ${messageOf(err)}\n`);
      return;
    }
    const port = url.port ? Number(url.port) : 80;
    await this.forward(req, res, { protocol: 'http:', host, port, path: url.pathname + url.search }, url.host, () => this.gate.connect(host, port));
  }

  /**
   * Sends one request on: hop-by-hop headers dropped, the Injector's additions made (placeholders
   * in headers and, streaming, in the body), over a connection `open` makes after the gate's check.
   */
  private async forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    target: Target,
    authority: string,
    open: () => Promise<net.Socket>,
  ): Promise<void> {
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: authority };
    for (const h of HOP_BY_HOP) delete headers[h];
    let body: NodeJS.ReadableStream = req;
    try {
      const injected = this.intercept ? await this.intercept.injector.apply(target, headers) : { headers };
      Object.assign(headers, injected.headers);
      // A compressed body cannot be searched; it goes as it is.
      const identity = !req.headers['content-encoding'] || req.headers['content-encoding'] === 'identity';
      if ('body' in injected && injected.body && identity) {
        const read = await bufferUpTo(req.pipe(injected.body.transform()), BODY_BUFFER_BYTES);
        delete headers['content-length'];
        delete headers['transfer-encoding'];
        if ('whole' in read) {
          headers['content-length'] = String(read.whole.length);
          body = Readable.from([read.whole]);
        } else {
          headers['transfer-encoding'] = 'chunked';
          body = read.stream;
        }
      }
      const socket = await open();
      // One request per upstream connection: each is decided and checked on its own.
      headers.connection = 'close';
      const upstream = http.request({ method: req.method, path: target.path, headers, createConnection: () => socket }, (up) => {
        const back = { ...up.headers };
        for (const h of HOP_BY_HOP) delete back[h];
        res.writeHead(up.statusCode ?? 502, back);
        up.pipe(res);
        up.on('error', () => res.destroy());
      });
      upstream.on('error', (e) =>
        res.headersSent
          ? res.destroy(e)
          : res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream ${target.host}:${target.port} failed: ${e.message}\n`),
      );
      res.on('close', () => upstream.destroy());
      body.pipe(upstream);
    } catch (err) {
      const refused = err instanceof EgressRefused;
      if (!res.headersSent) res.writeHead(refused ? 403 : 502, { 'content-type': 'text/plain' }).end(`${messageOf(err)}\n`);
      else res.destroy();
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.open) s.destroy();
    this.inner.closeAllConnections();
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fs.rm(this.socketPath, { force: true });
  }
}

/** TLS to the real server, its certificate verified against `trust` for `host`. */
function verifiedTls(socket: net.Socket, host: string, trust: tls.SecureContext): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const conn = tls.connect({
      socket,
      host,
      servername: net.isIP(host) ? undefined : host,
      secureContext: trust,
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: true,
    });
    conn.once('secureConnect', () => resolve(conn));
    conn.once('error', (err) => {
      socket.destroy();
      reject(new Error(`TLS to ${host} failed (its certificate is verified against the host's trust store): ${err.message}`));
    });
  });
}

export function splitHostPort(target: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(target);
  if (!m) return { host: target, port: defaultPort };
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}
