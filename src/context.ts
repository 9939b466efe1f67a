import type { Logger } from 'pino';
import type { Config } from './config.js';
import { Agents } from './domain/agents.js';
import { Environments } from './domain/environments.js';
import { EventLog } from './domain/event-log.js';
import { wireFilesAndVaults, type FilesAndVaults } from './domain/files-vaults-wiring.js';
import { Sessions } from './domain/sessions.js';
import type { SessionBus } from './fanout/bus.js';
import type { Store } from './store/db.js';
import { UnavailableToolExecutor, type ToolExecutor } from './runtime/tool-executor.js';

/** Who made a request. Other credentials (environment keys, session tokens) add their own kinds. */
export type Principal = { kind: 'api_key'; keyId: string } | { kind: string; [k: string]: unknown };

export type Authenticator = (token: string) => Promise<Principal | undefined> | Principal | undefined;

/** Everything a route or a background worker needs, built once at start-up (files, resources, vaults: `FilesAndVaults`). */
export interface AppContext extends FilesAndVaults {
  config: Config;
  log: Logger;
  store: Store;
  bus: SessionBus;
  events: EventLog;
  agents: Agents;
  environments: Environments;
  sessions: Sessions;
  /** Runs the built-in tools; a sandbox provider replaces the default at start-up. */
  tools: ToolExecutor;
  /** Tried in order; the first that recognises the token wins. */
  authenticators: Authenticator[];
  /** Work to run at shutdown, last registered first. */
  onClose: Array<() => Promise<void> | void>;
}

export function buildDomain(config: Config, log: Logger, store: Store, bus: SessionBus): AppContext {
  const events = new EventLog(store.db, bus);
  const agents = new Agents(store.db);
  const environments = new Environments(store.db);
  const sessions = new Sessions(store.db, events, bus, agents, environments);
  const keys = new Map(config.apiKeys.map((k, i) => [k, `apikey_${String(i + 1).padStart(2, '0')}`]));
  const apiKeyAuth: Authenticator = (token) => {
    const keyId = keys.get(token);
    return keyId ? { kind: 'api_key', keyId } : undefined;
  };
  const filesAndVaults = wireFilesAndVaults(config, store, sessions, log);
  return { config, log, store, bus, events, agents, environments, sessions, ...filesAndVaults, tools: new UnavailableToolExecutor(), authenticators: [apiKeyAuth], onClose: [] };
}
