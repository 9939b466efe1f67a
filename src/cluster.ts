import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { InProcessBus, type SessionBus } from './fanout/bus.js';
import { PostgresBus } from './fanout/postgres-bus.js';
import { startLeaseSweeper } from './runtime/lease-sweeper.js';
import { InProcessLeases, type SessionLeases } from './runtime/leases.js';
import { PostgresLeases } from './runtime/postgres-leases.js';
import type { Store } from './store/db.js';

/**
 * Many nodes, one database. On SQLite Paddock is one process and everything stays in memory; on
 * Postgres any number of processes share the work: notifications cross nodes (PostgresBus), one
 * node at a time drives a session (PostgresLeases), and sessions whose node died are taken over
 * (lease sweeper). The HTTP layer keeps no state of its own, so any node answers any request.
 */
export interface ClusterOptions {
  /** Names this process among the nodes sharing one database (leases, notifications). */
  nodeId: string;
  /** A lease not renewed for this long is free for another node. */
  leaseTtlMs: number;
  /** How often each node looks for sessions without a live lease. */
  leaseScanMs: number;
  /** How often followed sessions are checked against the log for missed notifications. */
  busPollMs: number;
}

export async function openBus(config: Config, store: Store, log: Logger): Promise<SessionBus> {
  if (store.dialect !== 'postgres' || !config.storage.databaseUrl) return new InProcessBus();
  const bus = new PostgresBus({
    db: store.db,
    connectionString: config.storage.databaseUrl,
    nodeId: config.cluster.nodeId,
    log,
    pollMs: config.cluster.busPollMs,
  });
  await bus.start();
  return bus;
}

/** The leases the runtime takes: in memory on one node, rows with an expiry on Postgres. */
export function clusterLeases(config: Config, store: Store): SessionLeases {
  if (store.dialect !== 'postgres') return new InProcessLeases();
  return new PostgresLeases(store.db, config.cluster.nodeId, config.cluster.leaseTtlMs);
}

/** Starts taking over sessions whose node stopped renewing its lease; returns how to stop. */
export function startTakeover(ctx: AppContext, runtime: { wake(sessionId: string): void }): () => void {
  if (ctx.store.dialect !== 'postgres') return () => {};
  ctx.log.info({ node_id: ctx.config.cluster.nodeId }, 'cluster node');
  return startLeaseSweeper(ctx, runtime, ctx.config.cluster.leaseScanMs);
}
