import { envNumber } from './env.js';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { InProcessBus, type SessionBus } from './fanout/bus.js';
import { PostgresBus } from './fanout/postgres-bus.js';
import { startLeaseSweeper } from './runtime/lease-sweeper.js';
import type { SessionLeases } from './runtime/leases.js';
import { PostgresLeases } from './runtime/postgres-leases.js';
import type { Store } from './store/db.js';

/**
 * Many nodes, one database. On SQLite Paddock is one process and everything stays in memory; on
 * Postgres any number of processes share the work: notifications cross nodes (PostgresBus), one
 * node at a time drives a session (PostgresLeases), and sessions whose node died are taken over
 * (lease sweeper). The HTTP layer keeps no state of its own, so any node answers any request.
 */
export interface ClusterOptions {
  /** A lease not renewed for this long is free for another node. */
  leaseTtlMs: number;
  /** How often each node looks for sessions without a live lease. */
  leaseScanMs: number;
  /** How often followed sessions are checked against the log for missed notifications. */
  busPollMs: number;
}

export function clusterOptions(env: NodeJS.ProcessEnv = process.env): ClusterOptions {
  return {
    leaseTtlMs: envNumber(env, 'PADDOCK_LEASE_TTL_MS', 30_000, { min: 1 }),
    leaseScanMs: envNumber(env, 'PADDOCK_LEASE_SCAN_MS', 5_000, { min: 1 }),
    busPollMs: envNumber(env, 'PADDOCK_BUS_POLL_MS', 2_000, { min: 1 }),
  };
}

export async function openBus(config: Config, store: Store, log: Logger): Promise<SessionBus> {
  if (store.dialect !== 'postgres' || !config.databaseUrl) return new InProcessBus();
  const bus = new PostgresBus({ db: store.db, connectionString: config.databaseUrl, nodeId: config.nodeId, log, pollMs: clusterOptions().busPollMs });
  await bus.start();
  return bus;
}

/** The leases the runtime should take: undefined means its single-node default. */
export function clusterLeases(ctx: AppContext): SessionLeases | undefined {
  if (ctx.store.dialect !== 'postgres') return undefined;
  return new PostgresLeases(ctx.store.db, ctx.config.nodeId, clusterOptions().leaseTtlMs);
}

/** Starts taking over sessions whose node stopped renewing its lease. */
export function startTakeover(ctx: AppContext, runtime: { wake(sessionId: string): void }): void {
  if (ctx.store.dialect !== 'postgres') return;
  ctx.log.info({ node_id: ctx.config.nodeId }, 'cluster node');
  ctx.onClose.push(startLeaseSweeper(ctx, runtime, clusterOptions().leaseScanMs));
}
