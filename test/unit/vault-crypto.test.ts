import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMasterKey, loadMasterKey, parseMasterKey, SecretBox, secretBoxFor } from '../../src/vault/crypto.js';

describe('SecretBox (AES-256-GCM envelopes)', () => {
  it('round-trips, with a fresh IV each time, and names the key that sealed it', () => {
    const key = generateMasterKey();
    const box = new SecretBox(key);
    const a = box.seal('hunter2', 'credential:vcrd_1');
    const b = box.seal('hunter2', 'credential:vcrd_1');
    expect(a).not.toBe(b);
    expect(a.split(':')[1]).toBe(box.currentKeyId);
    expect(a).not.toContain('hunter2');
    expect(box.open(a, 'credential:vcrd_1')).toBe('hunter2');
  });

  it('refuses a ciphertext moved to another row, tampered with, or sealed by an unknown key', () => {
    const box = new SecretBox(generateMasterKey());
    const env = box.seal('secret', 'credential:vcrd_1');
    expect(() => box.open(env, 'credential:vcrd_2')).toThrow();
    const parts = env.split(':');
    const ct = Buffer.from(parts[4], 'base64url');
    ct[0] ^= 1;
    parts[4] = ct.toString('base64url');
    expect(() => box.open(parts.join(':'), 'credential:vcrd_1')).toThrow();
    expect(() => new SecretBox(generateMasterKey()).open(env, 'credential:vcrd_1')).toThrow(/not loaded/);
  });

  it('a key ring opens envelopes from every key it holds and seals with the current one', () => {
    const oldKey = generateMasterKey();
    const newKey = generateMasterKey();
    const sealedOld = new SecretBox(oldKey).seal('v', 'x');
    const ring = new SecretBox(newKey, [oldKey]);
    expect(ring.open(sealedOld, 'x')).toBe('v');
    expect(new SecretBox(newKey).open(ring.seal('w', 'x'), 'x')).toBe('w');
  });
});

describe('master key loading', () => {
  it('creates <dataDir>/master.key with mode 0600 on first start and reuses it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'paddock-key-'));
    const first = loadMasterKey(dir, undefined);
    expect(first.from).toBe('file');
    expect(statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    const again = loadMasterKey(dir, undefined);
    expect(again.key.equals(first.key)).toBe(true);
    const box = secretBoxFor(first);
    expect(secretBoxFor(again).open(box.seal('s', 'a'), 'a')).toBe('s');
  });

  it('PADDOCK_MASTER_KEY wins over the file; base64 and hex accepted, anything else refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'paddock-key-'));
    const key = generateMasterKey();
    const fromEnv = loadMasterKey(dir, key.toString('base64'));
    expect(fromEnv.from).toBe('env');
    expect(fromEnv.key.equals(key)).toBe(true);
    expect(parseMasterKey(key.toString('hex'), 'k').equals(key)).toBe(true);
    expect(parseMasterKey(key.toString('base64url'), 'k').equals(key)).toBe(true);
    expect(() => parseMasterKey('correct horse battery staple', 'PADDOCK_MASTER_KEY')).toThrow(/PADDOCK_MASTER_KEY must hold a 32-byte key/);
    expect(() => parseMasterKey(generateMasterKey().subarray(0, 16).toString('base64'), 'k')).toThrow();
  });

  it('a key left by an interrupted rotation joins the ring', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'paddock-key-'));
    const cur = loadMasterKey(dir, undefined);
    const next = generateMasterKey();
    writeFileSync(path.join(dir, 'master.key.next'), next.toString('base64'));
    const sealedByNext = new SecretBox(next).seal('mid-rotation', 'r');
    const loaded = loadMasterKey(dir, undefined);
    expect(loaded.key.equals(cur.key)).toBe(true);
    expect(secretBoxFor(loaded).open(sealedByNext, 'r')).toBe('mid-rotation');
    expect(readFileSync(path.join(dir, 'master.key'), 'utf8').trim()).toBe(cur.key.toString('base64'));
  });
});
