import type { Logger } from 'pino';
import type { Config, Secret } from './config.js';
import type { Agents } from './domain/agents.js';
import type { Credentials } from './domain/credentials.js';
import type { Environments } from './domain/environments.js';
import type { EventLog } from './domain/event-log.js';
import type { Files } from './domain/files.js';
import type { SessionResources } from './domain/resources.js';
import type { Sessions } from './domain/sessions.js';
import type { Vaults } from './domain/vaults.js';
import type { SessionBus } from './fanout/bus.js';
import type { ToolExecutor } from './runtime/tool-executor.js';
import type { BlobStore } from './store/blobs.js';
import type { Store } from './store/db.js';
import type { SecretBox } from './vault/crypto.js';

/** Who made a request. Other credentials (environment keys, session tokens) add their own kinds. */
export type Principal = { kind: 'api_key'; keyId: string } | { kind: string; [k: string]: unknown };

export type Authenticator = (token: string) => Promise<Principal | undefined> | Principal | undefined;

/** Everything a route or a background worker needs, built once at start-up (src/server.ts). */
export interface AppContext {
  config: Config;
  log: Logger;
  store: Store;
  bus: SessionBus;
  blobs: BlobStore;
  secrets: SecretBox;
  events: EventLog;
  agents: Agents;
  environments: Environments;
  files: Files;
  vaults: Vaults;
  credentials: Credentials;
  resources: SessionResources;
  sessions: Sessions;
  /** Runs the built-in tools (the sandbox). */
  tools: ToolExecutor;
  /** Tried in order; the first that recognises the token wins. */
  authenticators: Authenticator[];
  /** Work to run at shutdown, last registered first. */
  onClose: Array<() => Promise<void> | void>;
}

/** The configured API keys, each known by its position (`apikey_01`, …), never by its value. */
export function apiKeyAuthenticator(keys: readonly Secret[]): Authenticator {
  const ids = new Map(keys.map((k, i) => [k.reveal(), `apikey_${String(i + 1).padStart(2, '0')}`]));
  return (token) => {
    const keyId = ids.get(token);
    return keyId ? { kind: 'api_key', keyId } : undefined;
  };
}
