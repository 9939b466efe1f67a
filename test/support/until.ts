/**
 * Polls `probe` until `ok` holds for what it answers, and returns that answer; after `timeoutMs`
 * it throws, naming what it waited for and the last answer.
 */
export async function until<T>(
  what: string,
  probe: () => T | Promise<T>,
  ok: (v: T) => boolean = (v) => Boolean(v),
  { timeoutMs = 20_000, everyMs = 100 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
