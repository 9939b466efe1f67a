import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../store/schema.js';
import { postgresClientConfig } from '../store/postgres.js';
import { InProcessBus, type BusListener, type BusMessage, type EphemeralFrame } from './bus.js';

/** One channel for the whole cluster; payloads name the session. */
const CHANNEL = 'paddock_sessions';
/** Postgres rejects NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD = 7900;
/**
 * Notifications waiting to be sent, at most. They pile up only while the database does not
 * answer; past this, new ones are dropped: other nodes find appended events by their catch-up
 * poll, and previews are best effort anyway.
 */
const MAX_OUTBOX = 10_000;

/** What travels in a notification: who sent it, which session, and the bus message. */
interface Wire {
  n: string;
  s: string;
  m: BusMessage;
}

export interface PostgresBusOptions {
  db: Kysely<Database>;
  connectionString: string;
  nodeId: string;
  log: Logger;
  /** How often sessions with local subscribers are checked against the log, in case a notification was missed. */
  pollMs?: number;
}

/**
 * The bus across nodes: LISTEN/NOTIFY carries the wake-up signal, the event log stays the source
 * of truth. Local subscribers are told at once (as on one node); other nodes hear it through
 * Postgres. A notification can be lost (the listening connection drops, a node restarts), so
 * every session with a local subscriber is also checked against `sessions.last_seq` — after each
 * reconnect and every `pollMs` — and any growth is announced as if it had been notified.
 * Previews (ephemeral frames) are best effort: they are not in the log, so a lost one is gone,
 * and the final event still arrives.
 */
export class PostgresBus extends InProcessBus {
  private listener?: pg.Client;
  private reconnectDelay = 100;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly pollTimer: NodeJS.Timeout;
  private closed = false;
  /** Newest seq announced per locally followed session, so the poll only speaks on growth. */
  private readonly known = new Map<string, number>();
  private readonly subscribers = new Map<string, number>();
  /** Outgoing notifications, sent in order by one query at a time. */
  private outbox: string[] = [];
  private flushing = false;
  /** Notifications dropped since the outbox last had room (reported once per episode). */
  private dropped = 0;

  constructor(private readonly opts: PostgresBusOptions) {
    super();
    this.pollTimer = setInterval(() => void this.catchUp(), opts.pollMs ?? 2000);
    this.pollTimer.unref();
  }

  /** Opens the listening connection; resolves once notifications flow. */
  async start(): Promise<void> {
    await this.listen();
  }

  override subscribe(sessionId: string, listener: BusListener): () => void {
    this.subscribers.set(sessionId, (this.subscribers.get(sessionId) ?? 0) + 1);
    const off = super.subscribe(sessionId, listener);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      const left = (this.subscribers.get(sessionId) ?? 1) - 1;
      if (left > 0) this.subscribers.set(sessionId, left);
      else {
        this.subscribers.delete(sessionId);
        this.known.delete(sessionId);
      }
    };
  }

  override appended(sessionId: string, seq: number): void {
    this.deliver(sessionId, { kind: 'appended', seq });
    this.publish(sessionId, { kind: 'appended', seq });
  }

  override ephemeral(sessionId: string, frame: EphemeralFrame): void {
    this.deliver(sessionId, { kind: 'ephemeral', frame });
    this.publish(sessionId, { kind: 'ephemeral', frame });
  }

  override deleted(sessionId: string): void {
    this.deliver(sessionId, { kind: 'deleted' });
    this.publish(sessionId, { kind: 'deleted' });
  }

  override async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => {});
    await super.close();
  }

  /** Hands a message to this node's subscribers, remembering how far each session's log got. */
  private deliver(sessionId: string, msg: BusMessage): void {
    if (msg.kind === 'appended') {
      if (this.subscribers.has(sessionId)) this.known.set(sessionId, Math.max(msg.seq, this.known.get(sessionId) ?? 0));
    }
    this.emit(sessionId, msg);
  }

  private publish(sessionId: string, m: BusMessage): void {
    const payload = JSON.stringify({ n: this.opts.nodeId, s: sessionId, m } satisfies Wire);
    if (Buffer.byteLength(payload) >= MAX_PAYLOAD) {
      // Only a preview can be this large; other nodes' subscribers get the event itself from the log.
      this.opts.log.debug({ session_id: sessionId, bytes: payload.length }, 'preview frame too large to forward');
      return;
    }
    if (this.outbox.length >= MAX_OUTBOX) {
      if (this.dropped++ === 0)
        this.opts.log.warn(
          { waiting: this.outbox.length },
          'notifications to other nodes are waiting on the database; dropping new ones (other nodes catch up from the log)',
        );
      return;
    }
    if (this.dropped) {
      this.opts.log.info({ dropped: this.dropped }, 'notifications to other nodes flow again');
      this.dropped = 0;
    }
    this.outbox.push(payload);
    void this.flush();
  }

  /**
   * Sends queued notifications in one statement at a time: Postgres delivers the notifications
   * of one transaction in order, so a node's messages arrive elsewhere in the order it sent them.
   */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length && !this.closed) {
        const batch = this.outbox.splice(0, 100);
        const calls = batch.map((p) => sql`pg_notify(${CHANNEL}, ${p})`);
        try {
          await sql`select ${sql.join(calls)}`.execute(this.opts.db);
        } catch (err) {
          // Other nodes' catch-up poll finds the appended events; only previews are lost.
          this.opts.log.warn({ err }, 'could not notify other nodes');
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(postgresClientConfig(this.opts.connectionString));
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      let wire: Wire;
      try {
        wire = JSON.parse(n.payload) as Wire;
      } catch {
        return;
      }
      if (wire.n !== this.opts.nodeId) this.deliver(wire.s, wire.m);
    });
    const lost = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.opts.log.warn({ err }, 'lost the notification connection to Postgres; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    this.reconnectDelay = 100;
    // Whatever was announced while nobody listened is in the log.
    await this.catchUp();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.listen().catch((err) => {
        if (this.closed) return;
        this.opts.log.warn({ err }, 'could not reconnect the notification connection');
        this.scheduleReconnect();
      });
    }, this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 5000);
  }

  /** Announces log growth (and deletions) of followed sessions that no notification reported. */
  private async catchUp(): Promise<void> {
    const ids = [...this.subscribers.keys()];
    if (ids.length === 0 || this.closed) return;
    try {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = await this.opts.db.selectFrom('sessions').select(['id', 'last_seq']).where('id', 'in', chunk).execute();
        const found = new Map(rows.map((r) => [r.id, Number(r.last_seq)]));
        for (const id of chunk) {
          if (!this.subscribers.has(id)) continue;
          const seq = found.get(id);
          if (seq === undefined) this.deliver(id, { kind: 'deleted' });
          else if (seq > (this.known.get(id) ?? 0)) this.deliver(id, { kind: 'appended', seq });
        }
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'event catch-up poll failed');
    }
  }
}
