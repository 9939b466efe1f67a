import Anthropic, { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { Config } from '../config.js';
import type { SessionAgent } from '../domain/sessions.js';
import { isObject } from '../domain/validate.js';

type Params = Anthropic.Messages.MessageCreateParamsNonStreaming;
type MessageParam = Anthropic.Messages.MessageParam;

/**
 * The model provider port's default: the Anthropic Messages API through the official client,
 * pointed at `ANTHROPIC_BASE_URL` with `ANTHROPIC_API_KEY`. The client's own retries are off:
 * the runner retries, so that each attempt is visible as events.
 */
export class ModelClient {
  private readonly client: Anthropic | undefined;

  constructor(config: Config['model']) {
    this.client = config.apiKey
      ? new Anthropic({ apiKey: config.apiKey.reveal(), baseURL: config.baseUrl ?? null, maxRetries: 0, timeout: 10 * 60_000 })
      : undefined;
  }

  private get api(): Anthropic {
    if (!this.client) throw new ModelConfigError('ANTHROPIC_API_KEY is not set on this Paddock server, so it cannot call the model.');
    return this.client;
  }

  /** Streams one request; `onEvent` sees the raw stream events (for live previews). */
  async stream(params: Params, signal: AbortSignal, onEvent: (e: Anthropic.Messages.RawMessageStreamEvent) => void): Promise<Anthropic.Messages.Message> {
    const stream = this.api.messages.stream(params, { signal });
    for await (const e of stream) onEvent(e);
    return stream.finalMessage();
  }

  create(params: Params, signal: AbortSignal): Promise<Anthropic.Messages.Message> {
    return this.api.messages.create(params, { signal });
  }
}

export class ModelConfigError extends Error {}

export interface ModelFailure {
  retryable: boolean;
  /** `session.error.error.type`. */
  type: 'model_overloaded_error' | 'model_rate_limited_error' | 'model_request_failed_error' | 'billing_error' | 'unknown_error';
  message: string;
  retryAfterMs?: number;
}

/** Sorts a failed request: transient (429, 529, 5xx, connection) → retry; anything else is final. */
export function classifyModelError(err: unknown): ModelFailure {
  if (err instanceof ModelConfigError) return { retryable: false, type: 'model_request_failed_error', message: err.message };
  if (err instanceof APIError && !(err instanceof APIConnectionError)) {
    const body = errorBody(err);
    const kind = body.type ?? err.type ?? undefined;
    const detail = body.message ?? err.message;
    const retryAfter = Number(err.headers?.get?.('retry-after'));
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
    if (err.status === 429 || kind === 'rate_limit_error')
      return { retryable: true, type: 'model_rate_limited_error', message: `The model is rate limited: ${detail}`, retryAfterMs };
    if (err.status === 529 || kind === 'overloaded_error')
      return { retryable: true, type: 'model_overloaded_error', message: `The model is overloaded: ${detail}`, retryAfterMs };
    if (err.status === undefined || err.status >= 500)
      return { retryable: true, type: 'model_request_failed_error', message: `The model request failed (${err.status ?? kind ?? 'stream error'}): ${detail}` };
    if (err.status === 402 || kind === 'billing_error')
      return { retryable: false, type: 'billing_error', message: `The model provider refused the request for billing reasons: ${detail}` };
    const why =
      err.status === 401
        ? 'the model API key was rejected'
        : err.status === 404
          ? 'the model or endpoint was not found'
          : `the model API answered ${err.status}`;
    return { retryable: false, type: 'model_request_failed_error', message: `The model request failed: ${why}: ${detail}` };
  }
  if (err instanceof APIConnectionError)
    return { retryable: true, type: 'model_request_failed_error', message: `Could not reach the model API: ${err.message}` };
  return { retryable: false, type: 'unknown_error', message: `The model request failed: ${err instanceof Error ? err.message : String(err)}` };
}

/** The `error` object of an API error's body (`{type: 'error', error: {type, message}}`), as far as it has one. */
function errorBody(err: APIError): { type?: string; message?: string } {
  const e = isObject(err.error) ? err.error.error : undefined;
  if (!isObject(e)) return {};
  return { type: typeof e.type === 'string' ? e.type : undefined, message: typeof e.message === 'string' ? e.message : undefined };
}

export function isAbort(err: unknown): boolean {
  return err instanceof APIUserAbortError || (err instanceof Error && err.name === 'AbortError');
}

/**
 * Extended thinking as the hosted service uses it: adaptive thinking with the agent's effort on
 * the models that support it, a thinking budget on the earlier extended-thinking models, and
 * none on models without extended thinking.
 */
export function thinkingFor(model: SessionAgent['model'], maxTokens: number): Pick<Params, 'thinking' | 'output_config'> {
  const id = model.id;
  const effort = model.effort?.type ?? 'high';
  if (/claude-(opus|sonnet|haiku)-(4-[6-9]|[5-9])/.test(id)) return { thinking: { type: 'adaptive' }, output_config: { effort } };
  if (/claude-(3-7-sonnet|(opus|sonnet|haiku)-4)/.test(id)) {
    const budget = { low: 2048, medium: 4096, high: 8192, xhigh: 16_000, max: 24_000 }[effort] ?? 8192;
    return { thinking: { type: 'enabled', budget_tokens: Math.min(budget, maxTokens - 1024) } };
  }
  return {};
}

/** Context window of a model, for the compaction threshold. */
export function contextWindow(modelId: string): number {
  return /\[1m\]$/.test(modelId) ? 1_000_000 : 200_000;
}

/**
 * Prompt caching as the hosted service uses it: a breakpoint at the end of the system prompt
 * (tools and system are a stable prefix) and one on the last block of the conversation, so each
 * request reads the previous one's prefix from cache.
 */
export function withCacheBreakpoints(system: string[], messages: MessageParam[]): Pick<Params, 'system' | 'messages'> {
  const sys: Anthropic.Messages.TextBlockParam[] = system.filter(Boolean).map((text) => ({ type: 'text', text }));
  if (sys.length) sys[sys.length - 1] = { ...sys[sys.length - 1], cache_control: { type: 'ephemeral' } };
  const msgs = messages.map((m) => ({ ...m }));
  const last = msgs[msgs.length - 1];
  if (last && Array.isArray(last.content) && last.content.length) {
    const blocks = [...last.content];
    const i = blocks.length - 1;
    const b = blocks[i];
    if (b.type !== 'thinking' && b.type !== 'redacted_thinking') blocks[i] = { ...b, cache_control: { type: 'ephemeral' } };
    last.content = blocks;
  }
  return { ...(sys.length ? { system: sys } : {}), messages: msgs };
}
