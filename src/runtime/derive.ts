import type Anthropic from '@anthropic-ai/sdk';
import type { StoredEvent } from '../domain/event-log.js';
import type { EventBlock, EventOf, ResultBlock, SessionEvent } from '../domain/wire-events.js';
import { recordKey, type RuntimeRecord } from './records.js';

type MessageParam = Anthropic.Messages.MessageParam;
type ContentBlock = Anthropic.Messages.ContentBlockParam;
/** What client content becomes for the model: blocks a user turn and a tool result both take. */
type InputBlock =
  Anthropic.Messages.TextBlockParam | Anthropic.Messages.ImageBlockParam | Anthropic.Messages.DocumentBlockParam | Anthropic.Messages.SearchResultBlockParam;
type IdleStopReason = EventOf<'session.status_idle'>['stop_reason'];
type SessionErrorType = EventOf<'session.error'>['error']['type'];

/** A tool call the model made, and what has become of it. */
export interface ToolUse {
  /** The `agent.*tool_use` event id; also the tool_use id the model sees. */
  id: string;
  kind: 'builtin' | 'custom' | 'mcp';
  /** The tool's name (for MCP, the server's own name for it). */
  name: string;
  /** MCP: the `mcp_server_name` it was called on. */
  server?: string;
  input: Record<string, unknown>;
  permission: 'allow' | 'ask' | 'deny';
  confirmation?: { result: 'allow' | 'deny'; deny_message?: string };
  resolved: boolean;
}

/** What the model turn stored beside the events (raw content with thinking signatures). */
export interface TurnRecord {
  content: Anthropic.Messages.ContentBlockParam[];
  stop_reason: string | null;
  /** The response's usage in full (the span end's `model_usage` lacks the cache split and server tools). */
  usage?: TurnUsage;
}

export type StopReason = { type: 'end_turn' } | { type: 'requires_action'; event_ids: string[] } | { type: 'retries_exhausted' };

/** The one next thing a session owes, as derived from its log. */
export type Owed =
  | { kind: 'none' }
  /** A model request is open (span start without end): make it (again, after a crash). */
  | { kind: 'model_request'; startId: string }
  /** A model request should be opened (after compacting the context, if it is near full). */
  | { kind: 'open_request' }
  /** An open request was interrupted: close its span. */
  | { kind: 'close_span'; startId: string }
  | { kind: 'tool'; use: ToolUse }
  | { kind: 'deny'; use: ToolUse }
  | { kind: 'idle'; stop_reason: StopReason };

export interface SessionState {
  status: 'idle' | 'running' | 'rescheduling' | 'terminated';
  lastSeq: number;
  /** The conversation as the next model request sends it (pending input is flushed at span start). */
  messages: MessageParam[];
  /** Text of `system.message` events, appended to the agent's system prompt in order. */
  systemAppend: string[];
  /** Retryable model failures since the last success. */
  failures: number;
  /** Prompt tokens of the last completed request (for compaction). */
  lastPromptTokens: number;
  compactedSinceLastRequest: boolean;
  /** Session usage: every completed model request's usage, summed. */
  usage: UsageTotals;
  /** Seconds spent running (each status_running → status_idle), for `stats.active_seconds`. */
  activeSeconds: number;
  owed: Owed;
}

const INTERRUPTED_BY_USER = 'The user interrupted this tool call before it finished.';
const NOT_RUN_AFTER_ERROR = 'This tool call was not run: the turn ended with an error (see the session.error event).';
const COMPACTED_PREFIX = 'Summary of the conversation so far (earlier turns were compacted to fit the context window):\n\n';

/** Client content blocks → Messages API blocks. Files are not resolvable here, so they become a note. */
function toModelBlocks(content: readonly EventBlock[] | undefined): InputBlock[] {
  const out: InputBlock[] = [];
  for (const b of content ?? []) {
    if (b.type === 'redacted') continue;
    if (b.type === 'text') out.push({ type: 'text', text: b.text });
    else if (b.type !== 'search_result' && b.source.type === 'file') out.push({ type: 'text', text: `[${b.type} from file ${b.source.file_id}]` });
    // Image, document and search_result blocks are the Messages API's own, passed on as the client
    // sent them (Paddock checks their form, the model API their media types and citations).
    else out.push(b as unknown as InputBlock);
  }
  return out;
}

function toolResult(id: string, content: readonly ResultBlock[] | undefined, isError: boolean | null | undefined): Anthropic.Messages.ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: id, content: toModelBlocks(content), ...(isError ? { is_error: true } : {}) };
}

function textResult(id: string, text: string): Anthropic.Messages.ToolResultBlockParam {
  return { type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text }], is_error: true };
}

function pushMessage(messages: MessageParam[], role: 'user' | 'assistant', content: ContentBlock[]): void {
  if (content.length === 0) return;
  const last = messages[messages.length - 1];
  if (last && last.role === role) {
    const prev = typeof last.content === 'string' ? [{ type: 'text' as const, text: last.content }] : last.content;
    // Tool results must lead a user turn.
    const merged =
      role === 'user' ? [...prev, ...content].sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result')) : [...prev, ...content];
    messages[messages.length - 1] = { role, content: merged };
  } else {
    messages.push({ role, content });
  }
}

/** Token totals of a session (`Session.usage`), summed over its completed model requests. */
export interface UsageTotals {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_1h_input_tokens: number; ephemeral_5m_input_tokens: number };
  server_tool_use?: { web_fetch_requests: number; web_search_requests: number };
}

/** A completed request's usage as the turn record keeps it (the Messages API's, in full). */
export type TurnUsage = Pick<Anthropic.Messages.Usage, 'input_tokens' | 'output_tokens'> &
  Partial<Pick<Anthropic.Messages.Usage, 'cache_creation_input_tokens' | 'cache_read_input_tokens'>> & {
    cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } | null;
    server_tool_use?: { web_search_requests?: number; web_fetch_requests?: number } | null;
  };

/**
 * `session.error` types about a resource the sandbox starts without (docs/runtime.md, "Setup
 * errors"): the session goes on, so they neither end the turn nor count as model retries,
 * whatever their `retry_status`. Every other `session.error` (a failed package install among
 * them) is read by its `retry_status`.
 */
const SIDE_ERRORS: ReadonlySet<string> = new Set<SessionErrorType>([
  'repository_authentication_error',
  'repository_forbidden_error',
  'repository_not_found_error',
  'repository_checkout_error',
  'repository_clone_error',
  'credential_host_unreachable_error',
]);

/**
 * Folds a session's log into the state the runner acts on, one event at a time. Folding the
 * same events (with the same records) always gives the same state, which is what lets any process
 * resume a session after a crash; and because the log is append-only, a fold of events 1..n plus
 * a fold of n+1..m equals a fold of 1..m, which is what lets a driving node keep a fold in memory
 * and apply only what was appended since (SessionStates).
 *
 * Consumption rule: a `span.model_request_start` consumes every user input and tool result
 * logged before it. A `user.interrupt` cancels what is in flight and what was owed; input queued
 * before it stays in the conversation but does not by itself start a new run.
 */
export class SessionFold {
  private status: SessionState['status'] = 'idle';
  private lastSeq = 0;
  private messages: MessageParam[] = [];
  private readonly systemAppend: string[] = [];
  private failures = 0;
  private lastPromptTokens = 0;
  private compactedSinceLastRequest = false;
  private runningSince: string | undefined;
  private pendingUser: ContentBlock[] = [];
  private pendingResults = new Map<string, Anthropic.Messages.ToolResultBlockParam>();
  private owedInput = false;
  /** A request failed transiently and is to be made again. */
  private owedRetry = false;
  private idleReason: IdleStopReason | undefined;
  private span: { id: string; interrupted: boolean; events: SessionEvent[] } | undefined;
  /** Tool uses of the last completed response; `continues` while its results are what is owed. */
  private response: { uses: ToolUse[]; continues: boolean } | undefined;
  private readonly uses = new Map<string, ToolUse>();
  private readonly usage: UsageTotals = {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
  };
  private activeSeconds = 0;

  /** The records folding these events reads (fetch just these, not every record of the session). */
  static recordKeys(events: StoredEvent[]): string[] {
    const keys: string[] = [];
    for (const { event: e } of events) {
      if (e.type === 'span.model_request_end') keys.push(recordKey.turn(e.model_request_start_id));
      else if (e.type === 'agent.thread_context_compacted') keys.push(recordKey.summary(e.id));
    }
    return keys;
  }

  get seq(): number {
    return this.lastSeq;
  }

  /** Applies events that follow the ones already folded; `records` holds at least their `recordKeys`. */
  apply(events: StoredEvent[], records: ReadonlyMap<string, RuntimeRecord>): void {
    for (const stored of events) {
      if (stored.seq <= this.lastSeq) continue; // already folded
      this.applyOne(stored, records);
    }
  }

  private resolve(id: string, result: Anthropic.Messages.ToolResultBlockParam): void {
    const use = this.uses.get(id);
    if (!use || use.resolved) return; // unknown or duplicate result: no second effect
    use.resolved = true;
    this.pendingResults.set(id, result);
  }

  private applyOne({ seq, event: e }: StoredEvent, records: ReadonlyMap<string, RuntimeRecord>): void {
    this.lastSeq = seq;
    switch (e.type) {
      case 'user.message':
        this.pendingUser.push(...toModelBlocks(e.content));
        this.owedInput = true;
        this.failures = 0;
        break;
      case 'system.message':
        for (const b of e.content) this.systemAppend.push(b.text);
        break;
      case 'user.interrupt':
        this.owedInput = false;
        this.owedRetry = false;
        this.failures = 0;
        if (this.span) this.span.interrupted = true;
        if (this.response) {
          for (const u of this.response.uses) this.resolve(u.id, textResult(u.id, INTERRUPTED_BY_USER));
          this.response.continues = false;
        }
        break;
      case 'user.tool_confirmation': {
        const use = this.uses.get(e.tool_use_id);
        if (use && !use.resolved && use.permission === 'ask' && !use.confirmation) {
          use.confirmation = { result: e.result, ...(e.deny_message ? { deny_message: e.deny_message } : {}) };
        }
        break;
      }
      case 'user.custom_tool_result':
        if (this.uses.get(e.custom_tool_use_id)?.kind === 'custom') this.resolve(e.custom_tool_use_id, toolResult(e.custom_tool_use_id, e.content, e.is_error));
        break;
      case 'user.tool_result':
      case 'agent.tool_result':
        if (this.uses.get(e.tool_use_id)?.kind === 'builtin') this.resolve(e.tool_use_id, toolResult(e.tool_use_id, e.content, e.is_error));
        break;
      case 'agent.mcp_tool_result':
        if (this.uses.get(e.mcp_tool_use_id)?.kind === 'mcp') this.resolve(e.mcp_tool_use_id, toolResult(e.mcp_tool_use_id, e.content, e.is_error));
        break;
      case 'span.model_request_start': {
        pushMessage(this.messages, 'user', [...this.pendingResults.values(), ...this.pendingUser]);
        this.pendingUser = [];
        this.pendingResults = new Map();
        this.owedInput = false;
        this.owedRetry = false;
        this.response = undefined;
        this.compactedSinceLastRequest = false;
        this.span = { id: e.id, interrupted: false, events: [] };
        break;
      }
      case 'agent.thinking':
      case 'agent.message':
        this.span?.events.push(e);
        break;
      case 'agent.tool_use':
      case 'agent.custom_tool_use':
      case 'agent.mcp_tool_use': {
        this.span?.events.push(e);
        const kind = e.type === 'agent.tool_use' ? 'builtin' : e.type === 'agent.custom_tool_use' ? 'custom' : 'mcp';
        this.uses.set(e.id, {
          id: e.id,
          kind,
          name: e.name,
          ...(e.type === 'agent.mcp_tool_use' ? { server: e.mcp_server_name } : {}),
          input: e.input ?? {},
          permission: e.type === 'agent.custom_tool_use' ? 'allow' : (e.evaluated_permission ?? 'allow'),
          resolved: false,
        });
        break;
      }
      case 'span.model_request_end': {
        const span = this.span;
        if (!span || span.id !== e.model_request_start_id) break;
        this.span = undefined;
        if (e.is_error) break;
        this.failures = 0;
        const turn = turnRecord(records, span.id);
        const logged = e.model_usage;
        this.lastPromptTokens = logged.input_tokens + logged.cache_read_input_tokens + logged.cache_creation_input_tokens;
        this.addUsage(turn?.usage ?? logged);
        pushMessage(this.messages, 'assistant', turn?.content ?? rebuildAssistant(span.events));
        const spanUses = span.events.filter((x) => x.type.endsWith('tool_use')).map((x) => this.uses.get(x.id)!);
        this.response = { uses: spanUses, continues: spanUses.length > 0 || turn?.stop_reason === 'pause_turn' };
        if (span.interrupted) {
          for (const u of spanUses) this.resolve(u.id, textResult(u.id, INTERRUPTED_BY_USER));
          this.response.continues = false;
        }
        break;
      }
      case 'session.error': {
        // A resource the sandbox started without (a repository not cloned, a credential host the
        // environment blocks) leaves the turn alone: the session goes on without it.
        if (SIDE_ERRORS.has(e.error.type)) break;
        if (e.error.retry_status.type === 'retrying') {
          this.failures++;
          this.owedRetry = true;
        } else {
          // The turn is given up: nothing stays owed until new input arrives, and tool calls of
          // the turn that have not run are not run (the error may be that tools cannot run).
          this.failures = 0;
          this.owedInput = false;
          this.owedRetry = false;
          if (this.response) {
            for (const u of this.response.uses) this.resolve(u.id, textResult(u.id, NOT_RUN_AFTER_ERROR));
            this.response.continues = false;
          }
        }
        break;
      }
      case 'agent.thread_context_compacted': {
        const summary = summaryRecord(records, e.id);
        if (summary === undefined) break;
        // Keep the last assistant turn verbatim so results still owed to its tool calls match it.
        const last = this.messages[this.messages.length - 1];
        this.messages = [{ role: 'user', content: [{ type: 'text', text: `${COMPACTED_PREFIX}${summary}` }] }];
        if (last?.role === 'assistant') this.messages.push(last);
        this.compactedSinceLastRequest = true;
        break;
      }
      case 'session.status_running':
        if (this.status !== 'running') this.runningSince = e.processed_at;
        this.status = 'running';
        break;
      case 'session.status_rescheduled':
        this.leaveRunning(e.processed_at);
        this.status = 'rescheduling';
        break;
      case 'session.status_terminated':
        this.leaveRunning(e.processed_at);
        this.status = 'terminated';
        break;
      case 'session.status_idle':
        this.leaveRunning(e.processed_at);
        this.status = 'idle';
        this.idleReason = e.stop_reason;
        break;
    }
  }

  /** Time from status_running to the status that ends it counts as active. */
  private leaveRunning(at: string): void {
    if (this.status === 'running' && this.runningSince && at) {
      this.activeSeconds += Math.max(0, (Date.parse(at) - Date.parse(this.runningSince)) / 1000);
    }
    this.runningSince = undefined;
  }

  private addUsage(u: TurnUsage | undefined): void {
    if (!u) return;
    const t = this.usage;
    t.input_tokens += u.input_tokens ?? 0;
    t.output_tokens += u.output_tokens ?? 0;
    t.cache_read_input_tokens += u.cache_read_input_tokens ?? 0;
    t.cache_creation.ephemeral_5m_input_tokens += u.cache_creation?.ephemeral_5m_input_tokens ?? u.cache_creation_input_tokens ?? 0;
    t.cache_creation.ephemeral_1h_input_tokens += u.cache_creation?.ephemeral_1h_input_tokens ?? 0;
    if (u.server_tool_use) {
      const st = (t.server_tool_use ??= { web_fetch_requests: 0, web_search_requests: 0 });
      st.web_search_requests += u.server_tool_use.web_search_requests ?? 0;
      st.web_fetch_requests += u.server_tool_use.web_fetch_requests ?? 0;
    }
  }

  /** What the folded log adds up to, and the one next thing owed. */
  state(): SessionState {
    return {
      status: this.status,
      lastSeq: this.lastSeq,
      // A copy of the list (not of the messages, which are never changed in place): the caller
      // may hold it across later folds.
      messages: [...this.messages],
      systemAppend: [...this.systemAppend],
      failures: this.failures,
      lastPromptTokens: this.lastPromptTokens,
      compactedSinceLastRequest: this.compactedSinceLastRequest,
      usage: structuredClone(this.usage),
      activeSeconds: this.activeSeconds,
      owed: this.owedNext(),
    };
  }

  private owedNext(): Owed {
    if (this.status === 'terminated') return { kind: 'none' };
    if (this.span) return this.span.interrupted ? { kind: 'close_span', startId: this.span.id } : { kind: 'model_request', startId: this.span.id };
    const open = this.response?.uses.filter((u) => !u.resolved) ?? [];
    const runnable = open.find((u) => u.kind !== 'custom' && (u.permission === 'allow' || u.confirmation?.result === 'allow'));
    if (runnable) return { kind: 'tool', use: { ...runnable } };
    const denied = open.find((u) => u.permission === 'deny' || u.confirmation?.result === 'deny');
    if (denied) return { kind: 'deny', use: { ...denied } };
    if (open.length > 0) return this.idle({ type: 'requires_action', event_ids: open.map((u) => u.id) });
    if (this.response?.continues || this.owedInput || this.owedRetry) return { kind: 'open_request' };
    return this.idle({ type: 'end_turn' });
  }

  /**
   * Idle is owed when the session is not idle yet, or idles for a different reason now: a wait
   * (`requires_action`) that ended without a new run — an interrupt cancelled it — ends the turn.
   * An idle session is never told again that its turn ended.
   */
  private idle(stop_reason: StopReason): Owed {
    if (this.status === 'idle') {
      const waiting = this.idleReason?.type === 'requires_action';
      if (JSON.stringify(this.idleReason) === JSON.stringify(stop_reason)) return { kind: 'none' };
      if (stop_reason.type === 'end_turn' && !waiting) return { kind: 'none' };
    }
    return { kind: 'idle', stop_reason };
  }
}

/** Folds a whole log at once (a fresh process, or tests). */
export function derive(events: StoredEvent[], records: ReadonlyMap<string, RuntimeRecord>): SessionState {
  const fold = new SessionFold();
  fold.apply(events, records);
  return fold.state();
}

/** Without a stored turn (it never is, for turns written by other means), the events say enough. */
function rebuildAssistant(events: SessionEvent[]): ContentBlock[] {
  const out: ContentBlock[] = [];
  for (const e of events) {
    if (e.type === 'agent.message') out.push(...toModelBlocks(e.content));
    else if (e.type === 'agent.tool_use' || e.type === 'agent.custom_tool_use' || e.type === 'agent.mcp_tool_use') {
      out.push({ type: 'tool_use', id: e.id, name: e.name, input: e.input ?? {} });
    }
  }
  return out;
}

/** The stored turn of the request opened by span start `startId`, if the fold was given it. */
function turnRecord(records: ReadonlyMap<string, RuntimeRecord>, startId: string): TurnRecord | undefined {
  const r = records.get(recordKey.turn(startId));
  return typeof r === 'object' && 'content' in r ? r : undefined;
}

/** The summary behind a compaction event, if the fold was given it. */
function summaryRecord(records: ReadonlyMap<string, RuntimeRecord>, eventId: string): string | undefined {
  const r = records.get(recordKey.summary(eventId));
  return typeof r === 'string' ? r : undefined;
}
