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

/** A metadata bag's entries, keys checked and each value read by `value` (`field` names it). */
function metadataEntries<V>(meta: unknown, field: string, value: (v: unknown, field: string) => V): Array<[string, V]> {
  if (meta === undefined || meta === null) return [];
  if (!isObject(meta)) throw invalid(`${field}: must be an object of strings`);
  return Object.entries(meta).map(([k, v]): [string, V] => {
    if (k.length === 0 || k.length > METADATA_LIMITS.key) throw invalid(`${field}: keys must be 1-${METADATA_LIMITS.key} characters`);
    return [k, value(v, `${field}.${k}`)];
  });
}

function metadataValue(v: unknown, field: string): string {
  if (typeof v !== 'string') throw invalid(`${field}: must be a string`);
  if (v.length > METADATA_LIMITS.value) throw invalid(`${field}: at most ${METADATA_LIMITS.value} characters`);
  return v;
}

/** Applies a metadata patch: strings upsert, null (and optionally "") delete, omitted keys stay. */
export function patchMetadata(
  current: Record<string, string>,
  patch: unknown,
  opts: { emptyDeletes?: boolean } = {},
): Record<string, string> {
  if (patch === undefined) return current;
  if (patch === null) return {};
  const next = { ...current };
  for (const [k, v] of metadataEntries(patch, 'metadata', (v, f) => (v === null ? null : metadataValue(v, f)))) {
    if (v === null || (opts.emptyDeletes && v === '')) delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > METADATA_LIMITS.pairs) throw invalid(`metadata: at most ${METADATA_LIMITS.pairs} pairs`);
  return next;
}

export function createMetadata(meta: unknown): Record<string, string> {
  const entries = metadataEntries(meta, 'metadata', metadataValue);
  if (entries.length > METADATA_LIMITS.pairs) throw invalid(`metadata: at most ${METADATA_LIMITS.pairs} pairs`);
  return Object.fromEntries(entries);
}
