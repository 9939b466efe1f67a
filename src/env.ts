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

/**
 * Reads a comma-separated list of web origins, each exactly as browsers send it in `Origin`
 * (`https://app.example.com:8443`), or `*` for any. Anything else fails start-up: a near miss
 * (a trailing slash, a path, capitals) would otherwise match no browser and fail silently.
 */
export function envOrigins(env: NodeJS.ProcessEnv, name: string): string[] {
  const list = (env[name] ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of list) {
    if (o === '*') continue;
    let origin: string | undefined;
    try {
      origin = new URL(o).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== o) {
      const hint = origin && origin !== 'null' ? origin : 'https://app.example.com';
      throw new Error(`${name}: "${o}" is not an origin (scheme://host[:port], as in ${hint})`);
    }
  }
  return list;
}
