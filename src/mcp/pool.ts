import type { Logger } from 'pino';
import type { McpCredential } from '../domain/credentials.js';
import type { Session } from '../domain/sessions.js';
import type { SessionBus } from '../fanout/bus.js';
import type { Outbound } from '../net/outbound.js';
import type { McpCallOutcome, McpFailure, McpPort, McpToolOffer } from '../runtime/mcp-port.js';
import { McpConnection, McpServerError, type McpLimits } from './connection.js';
import { toOutcome } from './results.js';

export interface McpPoolOptions extends McpLimits {
  /** A connection unused this long is closed (the session reconnects when it next needs it). */
  idleMs: number;
}

/** Paddock's own bounds on what an MCP server sends: one response body (a larger tool result is refused, not kept), and tools listed. */
export const MCP_BOUNDS: Pick<McpLimits, 'maxResponseBytes' | 'maxTools'> = { maxResponseBytes: 16 * 1024 * 1024, maxTools: 512 };

export interface McpPoolDeps {
  outbound: Outbound;
  /** Finds the credential for a server URL in a session's vaults (Credentials.mcpFor). */
  credentialFor(vaultIds: string[], url: string): Promise<McpCredential | undefined>;
  log: Logger;
  options: McpPoolOptions;
  /** Tells this node when a session it holds connections for is deleted, on whichever node. */
  bus: SessionBus;
}

/**
 * The MCP client side of Paddock: one connection per session and server, made when the session
 * first needs it, kept across turns, closed when the session ends, after `idleMs` unused, or when
 * it fails (a later turn connects afresh, so a fixed credential or a restarted server is picked
 * up). Nothing here outlives the process: after a restart connections are simply made again.
 */
export class McpClients implements McpPort {
  private readonly conns = new Map<string, McpConnection>();
  /** Sessions with connections here, and how to stop watching each for its deletion. */
  private readonly watched = new Map<string, () => void>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly deps: McpPoolDeps) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(deps.options.idleMs, 30_000));
    this.sweeper.unref();
  }

  async tools(session: Session, servers: string[], signal: AbortSignal): Promise<{ offers: McpToolOffer[]; failures: McpFailure[] }> {
    const listed = await Promise.all(
      servers.map(async (server) => {
        const conn = await this.connection(session, server);
        if (!(conn instanceof McpConnection)) return conn;
        try {
          return await conn.list(signal);
        } catch (err) {
          if (signal.aborted) throw err;
          return this.failed(session, conn, err);
        }
      }),
    );
    return {
      offers: listed.flatMap((l) => (Array.isArray(l) ? l : [])),
      failures: listed.flatMap((l) => (Array.isArray(l) ? [] : [l])),
    };
  }

  async call(session: Session, server: string, tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<McpCallOutcome> {
    const conn = await this.connection(session, server);
    if (!(conn instanceof McpConnection)) return { kind: 'failure', failure: conn };
    try {
      const answer = await conn.call(tool, input, signal);
      if (answer.kind === 'tool_error') return { kind: 'result', is_error: true, content: [{ type: 'text', text: answer.message }] };
      return { kind: 'result', ...toOutcome(answer.result, conn.secrets) };
    } catch (err) {
      if (signal.aborted) throw err;
      return { kind: 'failure', failure: this.failed(session, conn, err) };
    }
  }

  async release(sessionId: string): Promise<void> {
    const prefix = `${sessionId}\0`;
    await Promise.all([...this.conns].filter(([k]) => k.startsWith(prefix)).map(([k, c]) => this.drop(k, c)));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.conns].map(([k, c]) => this.drop(k, c)));
  }

  private async connection(session: Session, server: string): Promise<McpConnection | McpFailure> {
    const def = session.agent.mcp_servers.find((s) => s.name === server);
    if (!def) return { kind: 'connection', server, message: `the agent has no MCP server named ${server}` };
    const key = `${session.id}\0${server}\0${def.url}`;
    let conn = this.conns.get(key);
    if (conn && !conn.closed) return conn;
    const credential = await this.deps.credentialFor(session.vault_ids, def.url);
    conn = this.conns.get(key);
    if (conn && !conn.closed) return conn;
    const log = this.deps.log.child({ session_id: session.id, mcp_server_name: server });
    conn = new McpConnection(server, def.url, credential, this.deps.outbound, this.deps.options, log);
    this.conns.set(key, conn);
    if (!this.watched.has(session.id)) {
      const id = session.id;
      this.watched.set(
        id,
        this.deps.bus.subscribe(id, (msg) => msg.kind === 'deleted' && void this.release(id)),
      );
    }
    return conn;
  }

  /** A connection that failed is closed and forgotten; the failure is logged (its message holds no secret). */
  private failed(session: Session, conn: McpConnection, err: unknown): McpFailure {
    const failure = err instanceof McpServerError ? err.failure : conn.failure(err).failure;
    this.deps.log.warn({ session_id: session.id, mcp_server_name: failure.server, kind: failure.kind, reason: failure.message }, 'mcp server unavailable');
    for (const [k, c] of this.conns) if (c === conn) void this.drop(k, c);
    return failure;
  }

  private async drop(key: string, conn: McpConnection): Promise<void> {
    if (this.conns.get(key) === conn) this.conns.delete(key);
    const sessionId = key.slice(0, key.indexOf('\0'));
    if (![...this.conns.keys()].some((k) => k.startsWith(`${sessionId}\0`))) {
      this.watched.get(sessionId)?.();
      this.watched.delete(sessionId);
    }
    await conn.close();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.deps.options.idleMs;
    for (const [k, c] of this.conns) if (c.closed || (c.busy === 0 && c.lastUsed < cutoff)) void this.drop(k, c);
  }
}
