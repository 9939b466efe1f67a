import { envNumber } from '../env.js';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { Outbound } from '../net/outbound.js';
import type { Store } from '../store/db.js';
import { LocalDiskBlobStore, type BlobStore } from '../store/blobs.js';
import { loadMasterKey, secretBoxFor, type SecretBox } from '../vault/crypto.js';
import { RefreshLocks } from '../vault/refresh-lock.js';
import { Credentials } from './credentials.js';
import { Files } from './files.js';
import { SessionResources } from './resources.js';
import type { Sessions } from './sessions.js';
import { Vaults } from './vaults.js';

/** The services this module adds to AppContext. */
export interface FilesAndVaults {
  blobs: BlobStore;
  secrets: SecretBox;
  files: Files;
  resources: SessionResources;
  vaults: Vaults;
  credentials: Credentials;
  /** The one way out for what the server itself fetches (OAuth, MCP). */
  outbound: Outbound;
}

/** Upload limit: the API's 500 MB unless PADDOCK_MAX_FILE_BYTES says otherwise. */
export function maxFileBytes(env: NodeJS.ProcessEnv = process.env): number {
  return envNumber(env, 'PADDOCK_MAX_FILE_BYTES', 500 * 1024 * 1024, { min: 1 });
}

/**
 * Builds files, resources, vaults and credentials, and plugs them into sessions: resource
 * resolution at create time, the vault check, and clean-up of a deleted session's resources.
 */
export function wireFilesAndVaults(config: Config, store: Store, sessions: Sessions, log: Logger): FilesAndVaults {
  const blobs = new LocalDiskBlobStore(path.join(config.dataDir, 'blobs'));
  const secrets = secretBoxFor(loadMasterKey(config.dataDir));
  const files = new Files(store.db, blobs, maxFileBytes());
  const vaults = new Vaults(store.db);
  const outbound = new Outbound({ allow: config.outboundAllowHosts ?? [], serverPort: () => config.port, log });
  const credentials = new Credentials(store.db, vaults, secrets, outbound, new RefreshLocks(store.db, store.dialect));
  const resources = new SessionResources(store.db, files, sessions, secrets, config.githubUrl);
  sessions.resolveResources = (input, sessionId) => resources.resolveForCreate(input, sessionId);
  sessions.checkVaults = (ids) => vaults.checkForSession(ids);
  const retire = sessions.hooks.retire;
  sessions.hooks.retire = async (id, reason) => {
    await retire(id, reason);
    if (reason === 'deleted') await resources.deleteForSession(id);
  };
  return { blobs, secrets, files, resources, vaults, credentials, outbound };
}
