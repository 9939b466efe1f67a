/**
 * What can be said of a thrown value without knowing its type: anything can be thrown, so these
 * read it instead of asserting it is an Error.
 */

/** The message of an Error, or the thrown value as text. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}

/** The `code` of a Node system error (`ENOENT`, `EEXIST`, …) or a driver error (`SQLITE_FULL`, `23505`), if any. */
export function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
