/**
 * Runtime tuning, read from the environment once at start. Defaults follow the hosted service
 * where it is observable; tests shrink the delays and thresholds.
 */
export interface RuntimeOptions {
  /** Retries of a model request after 429 / 529 / 5xx / connection errors before giving up. */
  maxRetries: number;
  /** First backoff delay; doubles per retry, with jitter, capped at `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Compact when the last request's prompt exceeded this many tokens (default: 80% of the window). */
  compactionThresholdTokens?: number;
  /** How often a held session lease is renewed while a step runs. */
  leaseRenewMs: number;
  maxTokens: number;
  /** Derived states kept in memory for sessions between drives (sessions being driven always keep theirs). */
  idleStatesKept: number;
  /** Backoff of a step that failed on storage trouble (docs/runtime.md): first delay, doubling, capped. */
  stepRetryBaseMs: number;
  stepRetryMaxMs: number;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
}

export function runtimeOptions(env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  const threshold = env.PADDOCK_COMPACTION_THRESHOLD_TOKENS;
  return {
    maxRetries: num(env, 'PADDOCK_MODEL_MAX_RETRIES', 5),
    retryBaseMs: num(env, 'PADDOCK_MODEL_RETRY_BASE_MS', 2000),
    retryMaxMs: num(env, 'PADDOCK_MODEL_RETRY_MAX_MS', 60_000),
    compactionThresholdTokens: threshold ? num(env, 'PADDOCK_COMPACTION_THRESHOLD_TOKENS', 0) : undefined,
    leaseRenewMs: num(env, 'PADDOCK_LEASE_RENEW_MS', 10_000),
    maxTokens: num(env, 'PADDOCK_MODEL_MAX_TOKENS', 32_000),
    idleStatesKept: num(env, 'PADDOCK_RUNTIME_IDLE_STATES', 128),
    stepRetryBaseMs: num(env, 'PADDOCK_STEP_RETRY_BASE_MS', 500),
    stepRetryMaxMs: num(env, 'PADDOCK_STEP_RETRY_MAX_MS', 30_000),
  };
}
