import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { Credentials } from '../domain/credentials.js';
import { SessionResources } from '../domain/resources.js';
import { openStore } from '../store/db.js';
import { generateMasterKey, loadMasterKey, NEXT_MASTER_KEY_FILE, parseMasterKey, SecretBox, secretBoxFor, writeKeyFile } from './crypto.js';

export interface RotationResult {
  resealed: number;
  keyId: string;
  /** Where the new key went: the key file, or nowhere (the operator must set PADDOCK_MASTER_KEY). */
  keyFile?: string;
}

/**
 * `paddock rotate-master-key`: re-encrypts every stored secret under a new master key in one
 * transaction. Run it while Paddock is stopped.
 *
 * With a key file, the new key is written to `master.key.next` first, the secrets are re-sealed,
 * and the file is then renamed over `master.key`; a start in between loads both keys, so a crash
 * at any point leaves every secret readable. With `PADDOCK_MASTER_KEY`, the new key must be given
 * in `PADDOCK_NEW_MASTER_KEY` and set as `PADDOCK_MASTER_KEY` before the next start.
 */
export async function rotateMasterKey(config: Config): Promise<RotationResult> {
  const { dataDir, databaseUrl } = config.storage;
  const src = loadMasterKey(dataDir, config.secrets.masterKey?.reveal());
  const from = secretBoxFor(src);
  let next: Buffer;
  if (config.secrets.newMasterKey) next = parseMasterKey(config.secrets.newMasterKey.reveal(), 'PADDOCK_NEW_MASTER_KEY');
  else if (src.from === 'env') throw new Error('PADDOCK_MASTER_KEY is set: give the new key in PADDOCK_NEW_MASTER_KEY');
  else next = generateMasterKey();
  const to = new SecretBox(next);
  if (to.currentKeyId === from.currentKeyId) throw new Error('the new master key is the current one');
  const nextFile = path.join(dataDir, NEXT_MASTER_KEY_FILE);
  if (src.from === 'file') writeKeyFile(nextFile, next);
  const store = await openStore({ databaseUrl, sqlitePath: path.join(dataDir, 'paddock.db') });
  let resealed = 0;
  try {
    await store.db.transaction().execute(async (trx) => {
      resealed += await Credentials.reseal(trx, from, to);
      resealed += await SessionResources.reseal(trx, from, to);
    });
  } finally {
    await store.close();
  }
  if (src.from === 'file') {
    await fs.rename(nextFile, src.file);
    return { resealed, keyId: to.currentKeyId, keyFile: src.file };
  }
  return { resealed, keyId: to.currentKeyId };
}
