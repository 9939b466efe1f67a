/**
 * Runtime tuning (src/config.ts reads it). Defaults follow the hosted service where it is
 * observable; tests shrink the delays and thresholds.
 */
export interface RuntimeOptions {
  /** Retries of a model request after 429 / 529 / 5xx / connection errors before giving up. */
  maxRetries: number;
  /** First backoff delay; doubles per retry, with jitter, capped at `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Compact when the last request's prompt exceeded this many tokens (default: 80% of the window). */
  compactionThresholdTokens?: number;
  /** How often a held session lease is renewed while a step runs; less than the cluster's lease TTL. */
  leaseRenewMs: number;
  maxTokens: number;
  /** Derived states kept in memory for sessions between drives (sessions being driven always keep theirs). */
  idleStatesKept: number;
  /** Backoff of a step that failed on storage trouble (docs/runtime.md): first delay, doubling, capped. */
  stepRetryBaseMs: number;
  stepRetryMaxMs: number;
}
