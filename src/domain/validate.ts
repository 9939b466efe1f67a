import { type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { invalid } from './errors.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<T>;
}

function where(path: string, root: string): string {
  const p = path.replace(/^\//, '').replace(/\//g, '.');
  return p ? `${root}.${p}` : root;
}

/**
 * Checks `value` against a TypeBox schema and returns it typed, or throws a 400 whose message
 * names the first offending field the way the API does (`agent.tools.0.name: …`).
 */
export function parse<T extends TSchema>(schema: T, value: unknown, root = 'body'): Static<T> {
  const c = checker(schema);
  if (c.Check(value)) return value as Static<T>;
  const first = c.Errors(value).First();
  const path = first ? where(first.path, root) : root;
  throw invalid(`${path}: ${first?.message ?? 'invalid value'}`);
}

/** A JSON object (not an array, not null): what a request body or a nested field must be. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `v` is one of `values`: narrows an unknown input to a literal union. */
export function isOneOf<T>(values: readonly T[], v: unknown): v is T {
  return values.some((x) => x === v);
}

/** Metadata bag limits (wire-contract §0.8). */
export const METADATA_LIMITS = { pairs: 16, key: 64, value: 512 };

export function checkMetadata(meta: unknown, field = 'metadata', allowNull = false): Record<string, string | null> {
  if (meta === undefined || meta === null) return {};
  if (typeof meta !== 'object' || Array.isArray(meta)) throw invalid(`${field}: must be an object of strings`);
  const entries = Object.entries(meta as Record<string, unknown>);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > METADATA_LIMITS.key) throw invalid(`${field}: keys must be 1-${METADATA_LIMITS.key} characters`);
    if (v === null && allowNull) continue;
    if (typeof v !== 'string') throw invalid(`${field}.${k}: must be a string`);
    if (v.length > METADATA_LIMITS.value) throw invalid(`${field}.${k}: at most ${METADATA_LIMITS.value} characters`);
  }
  return meta as Record<string, string | null>;
}

/** Applies a metadata patch: strings upsert, null (and optionally "") delete, omitted keys stay. */
export function patchMetadata(
  current: Record<string, string>,
  patch: unknown,
  opts: { emptyDeletes?: boolean } = {},
): Record<string, string> {
  if (patch === undefined) return current;
  if (patch === null) return {};
  const p = checkMetadata(patch, 'metadata', true);
  const next = { ...current };
  for (const [k, v] of Object.entries(p)) {
    if (v === null || (opts.emptyDeletes && v === '')) delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > METADATA_LIMITS.pairs) throw invalid(`metadata: at most ${METADATA_LIMITS.pairs} pairs`);
  return next;
}

export function createMetadata(meta: unknown): Record<string, string> {
  const m = checkMetadata(meta);
  if (Object.keys(m).length > METADATA_LIMITS.pairs) throw invalid(`metadata: at most ${METADATA_LIMITS.pairs} pairs`);
  return m as Record<string, string>;
}
