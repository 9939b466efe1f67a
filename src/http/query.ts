import { invalid } from '../domain/errors.js';
import { parseIso } from '../domain/time.js';

export type Query = Record<string, string | string[] | undefined>;

function single(q: Query, key: string): string | undefined {
  const v = q[key];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  // The SDK serialises null as an empty value (`page=`): treat it as absent.
  return s === undefined || s === '' ? undefined : s;
}

export function str(q: Query, key: string): string | undefined {
  return single(q, key);
}

/** Arrays arrive as `x[]=a&x[]=b` (the SDK) or `x=a&x=b` (the docs); accept both. */
export function arr(q: Query, key: string): string[] | undefined {
  const out: string[] = [];
  for (const k of [key, `${key}[]`]) {
    const v = q[k];
    if (v === undefined) continue;
    for (const s of Array.isArray(v) ? v : [v]) if (s !== '') out.push(...s.split(',').filter(Boolean));
  }
  return out.length ? out : undefined;
}

/**
 * The largest integer a query may carry: integer columns are 32-bit on Postgres, and a larger
 * value there is an SQL error rather than "no such row".
 */
export const MAX_INT = 2_147_483_647;

export function int(q: Query, key: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const s = single(q, key);
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s)) throw invalid(`${key}: must be an integer`);
  const n = Number(s);
  const max = Math.min(opts.max ?? MAX_INT, MAX_INT);
  if (opts.min !== undefined && n < opts.min) throw invalid(`${key}: must be at least ${opts.min}`);
  if (n > max) throw invalid(`${key}: must be at most ${max}`);
  if (n < -MAX_INT) throw invalid(`${key}: must be at least ${-MAX_INT}`);
  return n;
}

export function bool(q: Query, key: string): boolean | undefined {
  const s = single(q, key);
  if (s === undefined) return undefined;
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw invalid(`${key}: must be true or false`);
}

export function oneOf<T extends string>(q: Query, key: string, allowed: readonly T[]): T | undefined {
  const s = single(q, key);
  if (s === undefined) return undefined;
  if (!allowed.includes(s as T)) throw invalid(`${key}: must be one of ${allowed.join(', ')}`);
  return s as T;
}

export interface TimeRange {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
}

/** Reads `created_at[gte]=…` style filters (the brackets arrive percent-encoded as literal keys). */
export function timeRange(q: Query, field: string): TimeRange {
  const out: TimeRange = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    const s = single(q, `${field}[${op}]`) ?? single(q, `${field}.${op}`);
    if (s === undefined) continue;
    const d = parseIso(s);
    if (!d) throw invalid(`${field}[${op}]: must be an RFC 3339 timestamp`);
    out[op] = d.toISOString();
  }
  return out;
}
