import type { FastifyInstance } from 'fastify';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { clusterLeases, openBus, startTakeover } from './cluster.js';
import type { Config } from './config.js';
import { apiKeyAuthenticator, type AppContext } from './context.js';
import { Agents } from './domain/agents.js';
import { Credentials } from './domain/credentials.js';
import { Environments } from './domain/environments.js';
import { EventLog } from './domain/event-log.js';
import { Files } from './domain/files.js';
import { SessionResources } from './domain/resources.js';
import { SessionRows } from './domain/session-rows.js';
import { Sessions, type SessionLifecycle } from './domain/sessions.js';
import { Vaults, type VaultContents } from './domain/vaults.js';
import { buildApp } from './http/app.js';
import { MCP_BOUNDS, McpClients } from './mcp/pool.js';
import { Outbound } from './net/outbound.js';
import { createRuntime } from './runtime/index.js';
import type { SessionRunner } from './runtime/runner.js';
import { egressTls, upstreamBundleFile } from './sandbox/egress/ca.js';
import { SessionRepositories } from './sandbox/git/repositories.js';
import { createSandboxExecutor, sandboxUser } from './sandbox/index.js';
import { SessionExtras } from './sandbox/session-extras.js';
import { LocalDiskBlobStore } from './store/blobs.js';
import { openStore } from './store/db.js';
import { loadMasterKey, secretBoxFor } from './vault/crypto.js';
import { checkMasterKey } from './vault/key-check.js';
import { RefreshLocks } from './vault/refresh-lock.js';

/** Every part of Paddock, built and connected; nothing runs until `start`. */
export interface PaddockGraph {
  ctx: AppContext;
  app: FastifyInstance;
  runtime: SessionRunner;
  /** Listens, then resumes sessions and (on Postgres) takes over those of dead nodes; gives the address. */
  start(): Promise<string>;
  close(): Promise<void>;
}

export interface Paddock {
  ctx: AppContext;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/**
 * The object graph, top to bottom: each part gets what it needs through its constructor, from
 * `config` (src/config.ts) or from the parts above it. Nothing else builds services or reads the
 * environment.
 */
export async function buildPaddock(config: Config, log: Logger): Promise<PaddockGraph> {
  const { dataDir } = config.storage;

  // Storage, and the notifications that cross the nodes sharing it.
  const store = await openStore({ databaseUrl: config.storage.databaseUrl, sqlitePath: path.join(dataDir, 'paddock.db') });
  const bus = await openBus(config, store, log);

  // Secrets at rest: a master key that cannot open what is stored stops start-up here.
  const secrets = secretBoxFor(loadMasterKey(dataDir, config.secrets.masterKey?.reveal()));
  await checkMasterKey(store.db, secrets);

  // Paddock's own port, known once it listens (PORT=0): the sandbox and the outbound port never reach it.
  let listeningPort = config.server.port;
  const serverPort = () => listeningPort;
  const outbound = new Outbound({ allow: config.outbound.allowHosts, serverPort, log });

  // The domain. Vaults and sessions tell their listener lists what happens to them; the lists are
  // filled below, once every listener exists, before anything runs.
  const vaultContents: VaultContents[] = [];
  const sessionLifecycle: SessionLifecycle[] = [];
  const events = new EventLog(store.db, bus);
  const agents = new Agents(store.db);
  const environments = new Environments(store.db);
  const blobs = new LocalDiskBlobStore(path.join(dataDir, 'blobs'));
  const files = new Files(store.db, blobs, config.files.maxBytes);
  const vaults = new Vaults(store.db, vaultContents);
  const credentials = new Credentials(store.db, vaults, secrets, outbound, new RefreshLocks(store.db, store.dialect));
  const resources = new SessionResources(store.db, files, new SessionRows(store.db), secrets, config.github.url);
  const sessions = new Sessions(store.db, events, bus, agents, environments, { vaults, resources, lifecycle: sessionLifecycle });

  // Where built-in tools run. A session's credentials and repositories reach its sandbox through
  // the egress proxy, which adds their secrets, opening TLS with the installation's CA; clones
  // are made server-side, through the outbound port. Problems become the session's errors.
  const sandboxLog = log.child({ component: 'sandbox' });
  const extras = new SessionExtras({
    credentials,
    repositories: new SessionRepositories({
      source: resources,
      outbound,
      owner: sandboxUser(config.sandbox),
      caFile: upstreamBundleFile(dataDir, config.sandbox.upstreamCaFile),
      log: sandboxLog,
    }),
    report: async (sessionId, error) => void (await events.append(sessionId, [{ type: 'session.error', error }])),
    log: sandboxLog,
  });
  const egress = config.sandbox.provider === 'bubblewrap' ? egressTls(dataDir, config.sandbox.upstreamCaFile) : undefined;
  const tools = createSandboxExecutor({ dataDir, serverPort, log, files, settings: config.sandbox, egress, extras });

  // MCP servers: one connection per session and server, its credential from the session's vaults.
  const mcp = new McpClients({
    outbound,
    credentialFor: (vaultIds, url) => credentials.mcpFor(vaultIds, url),
    log,
    bus,
    options: { ...config.mcp, ...MCP_BOUNDS },
  });

  const ctx: AppContext = {
    config,
    log,
    store,
    bus,
    blobs,
    secrets,
    events,
    agents,
    environments,
    files,
    vaults,
    credentials,
    resources,
    sessions,
    tools,
    authenticators: [apiKeyAuthenticator(config.auth.apiKeys)],
    onClose: [],
  };

  // The runtime drives sessions, under a lease per session (held in memory, or in Postgres for many nodes).
  const runtime = createRuntime(ctx, clusterLeases(config, store), mcp);

  // Listeners, told in this order: archiving a vault archives its credentials; a retired
  // session's work stops and its sandbox goes before its resources do.
  vaultContents.push(credentials);
  sessionLifecycle.push(runtime, resources);
  ctx.onClose.push(
    () => tools.close(),
    () => mcp.close(),
    () => runtime.close(),
  );

  const app = await buildApp(ctx);

  let closing: Promise<void> | undefined;
  return {
    ctx,
    app,
    runtime,
    async start() {
      const address = await app.listen({ port: config.server.port, host: config.server.host });
      listeningPort = Number(new URL(address).port);
      log.info({ address, storage: store.dialect }, 'paddock listening');
      // Recovery runs in the background: the server answers requests while sessions resume.
      void runtime.recover().catch((err) => log.error({ err }, 'runtime recovery failed'));
      ctx.onClose.push(startTakeover(ctx, runtime));
      return address;
    },
    close: () =>
      (closing ??= (async () => {
        await app.close();
        for (const fn of [...ctx.onClose].reverse()) await fn();
        await bus.close();
        await store.close();
      })()),
  };
}

/** Builds Paddock from `config` and starts it. */
export async function startPaddock(config: Config, log: Logger = pino({ level: config.server.logLevel })): Promise<Paddock> {
  const paddock = await buildPaddock(config, log);
  const url = await paddock.start();
  return { ctx: paddock.ctx, app: paddock.app, url, close: paddock.close };
}
