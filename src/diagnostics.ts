import type { AppContext } from './context.js';
import { openStreamCount } from './http/sse.js';

/**
 * What an operator asks a running server with `kill -USR2 <pid>`: one log line, `memory usage`,
 * with the process's memory and how many event streams are open. Started with `node
 * --expose-gc`, the server first collects garbage, so `heap_used_bytes` is the live heap (the
 * fault tests read it this way).
 */
export function reportMemoryOnSignal(ctx: AppContext): () => void {
  const report = () => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    ctx.log.info(
      { heap_used_bytes: m.heapUsed, heap_total_bytes: m.heapTotal, rss_bytes: m.rss, external_bytes: m.external, event_streams: openStreamCount(ctx) },
      'memory usage',
    );
  };
  process.on('SIGUSR2', report);
  return () => process.off('SIGUSR2', report);
}
