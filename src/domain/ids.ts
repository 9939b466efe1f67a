import { randomBytes } from 'node:crypto';

/** ID prefixes, one table (wire-contract §0.9). */
export const ID_PREFIX = {
  agent: 'agent',
  environment: 'env',
  session: 'sesn',
  event: 'sevt',
  thread: 'sthr',
  sessionResource: 'sesrsc',
  vault: 'vlt',
  credential: 'vcrd',
  file: 'file',
  skill: 'skill',
  memoryStore: 'memstore',
  memory: 'mem',
  memoryVersion: 'memver',
  outcome: 'outc',
  work: 'work',
  deployment: 'depl',
  deploymentRun: 'drun',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

// Base62 in ASCII order, so that ids compare (as bytes) in creation order: lists page by id alone.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TIME_CHARS = 8; // 62^8 ms ≈ 6900 years
const RANDOM_CHARS = 14;

let lastMs = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let s = '';
  for (let i = 0; i < TIME_CHARS; i++) {
    s = ALPHABET[ms % 62] + s;
    ms = Math.floor(ms / 62);
  }
  return s;
}

function freshRandom(): number[] {
  const bytes = randomBytes(RANDOM_CHARS);
  // Leave headroom in the first digit so that incrementing within one millisecond never overflows.
  return Array.from(bytes, (b, i) => (i === 0 ? b % 31 : b % 62));
}

function increment(digits: number[]): number[] {
  const out = digits.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 61) {
      out[i]++;
      return out;
    }
    out[i] = 0;
  }
  return out;
}

/** A new id: `<prefix>_01` + 22 base62 characters, monotonic within this process. */
export function newId(kind: IdKind): string {
  const now = Date.now();
  if (now <= lastMs) {
    lastRandom = increment(lastRandom);
  } else {
    lastMs = now;
    lastRandom = freshRandom();
  }
  return `${ID_PREFIX[kind]}_01${encodeTime(lastMs)}${lastRandom.map((d) => ALPHABET[d]).join('')}`;
}

/** True when `id` looks like an id of that kind; used to answer 404 before touching storage. */
export function hasPrefix(id: string, kind: IdKind): boolean {
  return id.startsWith(`${ID_PREFIX[kind]}_`) && id.length <= 128;
}
