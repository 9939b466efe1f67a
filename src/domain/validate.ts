import { invalid } from './errors.js';

/** At most this many metadata pairs (wire-contract §0.8); keys and values are checked at the route edge. */
const MAX_PAIRS = 16;

/** A JSON object (not an array, not null): narrows what a model or a stored row hands back. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `v` is one of `values`: narrows an unknown value to a literal union. */
export function isOneOf<T>(values: readonly T[], v: unknown): v is T {
  return values.some((x) => x === v);
}

/** Applies a metadata patch: strings upsert, null (and optionally "") delete, omitted keys stay. */
export function patchMetadata(
  current: Record<string, string>,
  patch: Record<string, string | null> | null | undefined,
  opts: { emptyDeletes?: boolean } = {},
): Record<string, string> {
  if (patch === undefined) return current;
  if (patch === null) return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || (opts.emptyDeletes && v === '')) delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > MAX_PAIRS) throw invalid(`metadata: at most ${MAX_PAIRS} pairs`);
  return next;
}

export function createMetadata(meta: Record<string, string> | null | undefined): Record<string, string> {
  return patchMetadata({}, meta ?? {});
}
