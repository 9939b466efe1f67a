import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { SecretBox } from './crypto.js';

/**
 * Refuses to start when stored secrets were sealed with a master key this server does not have
 * (a lost key file, a mistyped PADDOCK_MASTER_KEY): otherwise every use of those secrets would
 * fail later, one request at a time, with an opaque server error.
 */
export async function checkMasterKey(db: Kysely<Database>, box: SecretBox): Promise<void> {
  const sealed = [
    ...(await db.selectFrom('credentials').select('secret').where('secret', 'is not', null).execute()),
    ...(await db.selectFrom('session_resources').select('secret').where('secret', 'is not', null).execute()),
  ];
  const missing = new Set<string>();
  for (const { secret } of sealed) {
    const kid = SecretBox.keyIdOf(secret!);
    if (kid && !box.holds(kid)) missing.add(kid);
  }
  if (missing.size > 0) {
    throw new Error(
      `stored secrets were sealed with master key ${[...missing].join(', ')}, which this server does not have ` +
        `(it has ${box.currentKeyId}): set PADDOCK_MASTER_KEY, or restore master.key in the data dir, to the key that sealed them`,
    );
  }
}
