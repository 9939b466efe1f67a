import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { buildDomain, type AppContext } from './context.js';
import { clusterLeases, openBus, startTakeover } from './cluster.js';
import { buildApp } from './http/app.js';
import { openStore } from './store/db.js';
import { startRuntime } from './runtime/index.js';
import { checkMasterKey } from './vault/key-check.js';
import { createSandboxExecutor } from './sandbox/index.js';
import path from 'node:path';

export interface Paddock {
  ctx: AppContext;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts Paddock: store, domain, background workers, HTTP. Feature modules that need start-up
 * work (the runtime, sandboxes, schedulers) attach themselves in `startFeatures`.
 */
export async function startPaddock(config: Config, log: Logger = pino({ level: config.logLevel })): Promise<Paddock> {
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: path.join(config.dataDir, 'paddock.db') });
  const bus = await openBus(config, store, log);
  const ctx = buildDomain(config, log, store, bus);
  await startFeatures(ctx);
  const app = await buildApp(ctx);
  const address = await app.listen({ port: config.port, host: config.host });
  // With PORT=0 the real port is known only now; sandboxes must never reach it.
  if (!config.port) config.port = Number(new URL(address).port);
  log.info({ address, storage: store.dialect }, 'paddock listening');
  let closing: Promise<void> | undefined;
  return {
    ctx,
    app,
    url: address,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        for (const fn of [...ctx.onClose].reverse()) await fn();
        await bus.close();
        await store.close();
      })()),
  };
}

/** Where features that run in the background are started; each registers its own shutdown. */
async function startFeatures(ctx: AppContext): Promise<void> {
  await checkMasterKey(ctx.store.db, ctx.secrets);
  const tools = createSandboxExecutor({
    dataDir: ctx.config.dataDir,
    serverPort: () => ctx.config.port,
    log: ctx.log,
    files: ctx.files,
    credentials: ctx.credentials,
    repositories: ctx.resources,
    outboundAllowHosts: ctx.config.outboundAllowHosts,
    report: async (sessionId, error) => void (await ctx.events.append(sessionId, [{ type: 'session.error', error }])),
  });
  ctx.tools = tools;
  ctx.onClose.push(() => tools.close());
  const runtime = await startRuntime(ctx, clusterLeases(ctx));
  startTakeover(ctx, runtime);
}
