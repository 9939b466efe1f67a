/**
 * Reads a JSON column (or sealed JSON value) back from the store: the one place stored JSON is
 * given its type. The store holds only what Paddock itself wrote from values of that type, so
 * the type is trusted rather than re-validated on every read; a guard, where one is given, checks
 * it anyway and turns a mismatch into an error instead of a wrongly typed value.
 */
export function readJson<T>(text: string, guard?: (value: unknown) => value is T): T {
  const value: unknown = JSON.parse(text);
  if (guard && !guard(value)) throw new Error('stored JSON does not have the expected shape');
  return value as T;
}
