import type Anthropic from '@anthropic-ai/sdk';
import { openSse } from '../test/support/sse.js';

/** Small measuring helpers shared by the benchmarks (not a bench module itself: no `.bench.ts`). */

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export const median = (xs: number[]): number => quantile(xs, 0.5);

/** Runs `total` calls of `fn` with `concurrency` in flight; answers calls per second. */
export async function rate(total: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await fn(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** A send-events body with one user.message. */
export const userMessage = (text: string) => ({ events: [{ type: 'user.message' as const, content: [{ type: 'text' as const, text }] }] });

/**
 * POSTs `samples` user messages through `sender` and times each from just before the POST until
 * the subscriber on `streamUrl` has parsed its frame: milliseconds per sample.
 */
export async function deliveryLatency(sender: Anthropic, streamUrl: string, apiKey: string, sessionId: string, samples: number): Promise<number[]> {
  const stream = await openSse(streamUrl, apiKey);
  const out: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const marker = `latency-${i}`;
      const t0 = performance.now();
      const echoed = stream.until((f) => f.event === 'user.message' && JSON.parse(f.data).content?.[0]?.text === marker, 10_000);
      await sender.beta.sessions.events.send(sessionId, userMessage(marker));
      await echoed;
      out.push(performance.now() - t0);
    }
  } finally {
    stream.close();
  }
  return out;
}
