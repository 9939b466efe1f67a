import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readJson } from '../store/json.js';
import { codeOf } from '../error-info.js';

/**
 * Envelope encryption for secrets at rest (credential tokens, repository tokens): AES-256-GCM
 * with a random 96-bit IV per value and the owning row's id as additional authenticated data,
 * so a ciphertext copied onto another row fails to open. The envelope names the key that sealed
 * it, which lets a key ring hold the old and the new key while a rotation is under way.
 *
 *   pdk1:<key id>:<iv>:<tag>:<ciphertext>   (base64url parts)
 */
const VERSION = 'pdk1';
const KEY_BYTES = 32;

export const MASTER_KEY_FILE = 'master.key';
/** Written before a rotation re-encrypts anything, renamed over master.key once it has. */
export const NEXT_MASTER_KEY_FILE = 'master.key.next';

export function keyId(key: Buffer): string {
  return createHash('sha256').update('paddock-master-key\0').update(key).digest('hex').slice(0, 12);
}

/** Accepts 32 bytes as base64, base64url or hex; anything else is refused rather than stretched. */
export function parseMasterKey(text: string, source: string): Buffer {
  const s = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(s)) key = Buffer.from(s, 'hex');
  else if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(s)) key = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new Error(`${source} must hold a 32-byte key as base64 or hex (generate one with: openssl rand -base64 32)`);
  }
  return key;
}

export function generateMasterKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** `exclusive` refuses to replace an existing file (two first starts racing keep one key). */
export function writeKeyFile(file: string, key: Buffer, exclusive = false): void {
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: exclusive ? 'wx' : 'w' });
}

export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  private readonly current: { id: string; key: Buffer };

  /** `current` seals; every key in the ring (current included) can open. */
  constructor(current: Buffer, others: Buffer[] = []) {
    this.current = { id: keyId(current), key: current };
    for (const k of [current, ...others]) this.keys.set(keyId(k), k);
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  /** True when an envelope sealed with key `kid` can be opened by this ring. */
  holds(kid: string): boolean {
    return this.keys.has(kid);
  }

  /** The id of the key that sealed an envelope. */
  static keyIdOf(envelope: string): string | undefined {
    return envelope.split(':')[1];
  }

  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.current.id, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join(':');
  }

  open(envelope: string, aad: string): string {
    const [version, kid, iv, tag, ct] = envelope.split(':');
    if (version !== VERSION || ct === undefined) throw new Error('secret envelope: unknown format');
    const key = this.keys.get(kid);
    if (!key) throw new Error(`secret envelope: sealed with master key ${kid}, which is not loaded`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }

  sealJson(value: unknown, aad: string): string {
    return this.seal(JSON.stringify(value), aad);
  }

  openJson<T>(envelope: string, aad: string): T {
    return readJson<T>(this.open(envelope, aad));
  }
}

export interface MasterKeySource {
  key: Buffer;
  /** Where it came from: the environment, or the key file (which rotation may replace). */
  from: 'env' | 'file';
  file: string;
  /** A key left by an interrupted rotation; secrets may already be sealed with it. */
  pending?: Buffer;
}

/**
 * The master key: `PADDOCK_MASTER_KEY` (`fromEnv`) when set, otherwise `<dataDir>/master.key`,
 * created with mode 0600 on first start. Synchronous because it runs once while the app is assembled.
 */
export function loadMasterKey(dataDir: string, fromEnv: string | undefined): MasterKeySource {
  const file = path.join(dataDir, MASTER_KEY_FILE);
  const nextFile = path.join(dataDir, NEXT_MASTER_KEY_FILE);
  const pending = existsSync(nextFile) ? parseMasterKey(readFileSync(nextFile, 'utf8'), nextFile) : undefined;
  if (fromEnv) return { key: parseMasterKey(fromEnv, 'PADDOCK_MASTER_KEY'), from: 'env', file, pending };
  if (!existsSync(file)) {
    try {
      writeKeyFile(file, generateMasterKey(), true);
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
    }
  }
  return { key: parseMasterKey(readFileSync(file, 'utf8'), file), from: 'file', file, pending };
}

export function secretBoxFor(src: MasterKeySource): SecretBox {
  return new SecretBox(src.key, src.pending ? [src.pending] : []);
}
