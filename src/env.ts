/**
 * Reads a number from an environment variable: the fallback when unset or empty, otherwise a
 * value that must satisfy the bounds, or start-up fails with a message naming the variable.
 */
export function envNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  opts: { min?: number; integer?: boolean } = {},
): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  const integer = opts.integer ?? true;
  const min = opts.min ?? 0;
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} of at least ${min}, got "${v}"`);
  }
  return n;
}
