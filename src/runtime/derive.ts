import type Anthropic from '@anthropic-ai/sdk';
import type { StoredEvent } from '../domain/event-log.js';
import { recordKey } from './records.js';

type MessageParam = Anthropic.Messages.MessageParam;
type ContentBlock = Anthropic.Messages.ContentBlockParam;

/** A tool call the model made, and what has become of it. */
export interface ToolUse {
  /** The `agent.*tool_use` event id; also the tool_use id the model sees. */
  id: string;
  kind: 'builtin' | 'custom' | 'mcp';
  name: string;
  input: Record<string, unknown>;
  permission: 'allow' | 'ask' | 'deny';
  confirmation?: { result: 'allow' | 'deny'; deny_message?: string };
  resolved: boolean;
  /** The call was handed to its executor (a record exists), so it may have had effects. */
  started: boolean;
}

/** What the model turn stored beside the events (raw content with thinking signatures). */
export interface TurnRecord {
  content: Anthropic.Messages.ContentBlockParam[];
  stop_reason: string | null;
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
  /** When the current running phase began (for stats.active_seconds). */
  runningSince?: string;
  owed: Owed;
}

const INTERRUPTED_BY_USER = 'The user interrupted this tool call before it finished.';

/** Client content blocks → Messages API blocks. Files are not resolvable here, so they become a note. */
function toModelBlocks(content: unknown): ContentBlock[] {
  const out: ContentBlock[] = [];
  for (const b of (content as Array<Record<string, unknown>> | undefined) ?? []) {
    const src = b.source as Record<string, unknown> | undefined;
    if (b.type === 'redacted') continue;
    if (src?.type === 'file') {
      out.push({ type: 'text', text: `[${b.type} from file ${src.file_id as string}]` });
      continue;
    }
    if (b.type === 'text') out.push({ type: 'text', text: b.text as string });
    else out.push(b as unknown as ContentBlock);
  }
  return out;
}

function toolResult(id: string, content: unknown, isError: boolean | null | undefined): Anthropic.Messages.ToolResultBlockParam {
  const blocks = toModelBlocks(content);
  return { type: 'tool_result', tool_use_id: id, content: blocks as Anthropic.Messages.ToolResultBlockParam['content'], ...(isError ? { is_error: true } : {}) };
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
    const merged = role === 'user' ? [...prev, ...content].sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result')) : [...prev, ...content];
    messages[messages.length - 1] = { role, content: merged };
  } else {
    messages.push({ role, content });
  }
}

/**
 * Folds a session's log into the state the runner acts on. Pure: the same log (and records)
 * always gives the same state, which is what lets any process resume a session after a crash.
 *
 * Consumption rule: a `span.model_request_start` consumes every user input and tool result
 * logged before it. A `user.interrupt` cancels what is in flight and what was owed; input queued
 * before it stays in the conversation but does not by itself start a new run.
 */
export function derive(events: StoredEvent[], records: Map<string, unknown>): SessionState {
  const state: SessionState = {
    status: 'idle',
    lastSeq: 0,
    messages: [],
    systemAppend: [],
    failures: 0,
    lastPromptTokens: 0,
    compactedSinceLastRequest: false,
    owed: { kind: 'none' },
  };
  let pendingUser: ContentBlock[] = [];
  let pendingResults = new Map<string, Anthropic.Messages.ToolResultBlockParam>();
  let owedInput = false;
  /** A request failed transiently and is to be made again. */
  let owedRetry = false;
  let idleReason: string | undefined;
  let span: { id: string; interrupted: boolean; events: StoredEvent['event'][] } | undefined;
  /** Tool uses of the last completed response; `continues` while its results are what is owed. */
  let response: { uses: ToolUse[]; continues: boolean } | undefined;
  const uses = new Map<string, ToolUse>();

  const resolve = (id: string, result: Anthropic.Messages.ToolResultBlockParam): void => {
    const use = uses.get(id);
    if (!use || use.resolved) return; // unknown or duplicate result: no second effect
    use.resolved = true;
    pendingResults.set(id, result);
  };

  for (const { seq, event: e } of events) {
    state.lastSeq = seq;
    switch (e.type) {
      case 'user.message':
        pendingUser.push(...toModelBlocks(e.content));
        owedInput = true;
        state.failures = 0;
        break;
      case 'system.message':
        for (const b of (e.content as Array<{ text: string }>) ?? []) state.systemAppend.push(b.text);
        break;
      case 'user.interrupt':
        owedInput = false;
        owedRetry = false;
        state.failures = 0;
        if (span) span.interrupted = true;
        if (response) {
          for (const u of response.uses) resolve(u.id, textResult(u.id, INTERRUPTED_BY_USER));
          response.continues = false;
        }
        break;
      case 'user.tool_confirmation': {
        const use = uses.get(e.tool_use_id as string);
        if (use && !use.resolved && use.permission === 'ask' && !use.confirmation) {
          use.confirmation = { result: e.result as 'allow' | 'deny', ...(e.deny_message ? { deny_message: e.deny_message as string } : {}) };
        }
        break;
      }
      case 'user.custom_tool_result':
        if (uses.get(e.custom_tool_use_id as string)?.kind === 'custom') resolve(e.custom_tool_use_id as string, toolResult(e.custom_tool_use_id as string, e.content, e.is_error as boolean | null));
        break;
      case 'user.tool_result':
      case 'agent.tool_result':
        if (uses.get(e.tool_use_id as string)?.kind === 'builtin') resolve(e.tool_use_id as string, toolResult(e.tool_use_id as string, e.content, e.is_error as boolean | null));
        break;
      case 'agent.mcp_tool_result':
        if (uses.get(e.mcp_tool_use_id as string)?.kind === 'mcp') resolve(e.mcp_tool_use_id as string, toolResult(e.mcp_tool_use_id as string, e.content, e.is_error as boolean | null));
        break;
      case 'span.model_request_start': {
        const results = [...pendingResults.values()];
        pushMessage(state.messages, 'user', [...results, ...pendingUser]);
        pendingUser = [];
        pendingResults = new Map();
        owedInput = false;
        owedRetry = false;
        response = undefined;
        state.compactedSinceLastRequest = false;
        span = { id: e.id, interrupted: false, events: [] };
        break;
      }
      case 'agent.thinking':
      case 'agent.message':
        span?.events.push(e);
        break;
      case 'agent.tool_use':
      case 'agent.custom_tool_use':
      case 'agent.mcp_tool_use': {
        span?.events.push(e);
        const kind = e.type === 'agent.tool_use' ? 'builtin' : e.type === 'agent.custom_tool_use' ? 'custom' : 'mcp';
        uses.set(e.id, {
          id: e.id,
          kind,
          name: e.name as string,
          input: (e.input as Record<string, unknown>) ?? {},
          permission: kind === 'custom' ? 'allow' : ((e.evaluated_permission as ToolUse['permission'] | undefined) ?? 'allow'),
          resolved: false,
          started: records.has(recordKey.toolStarted(e.id)),
        });
        break;
      }
      case 'span.model_request_end': {
        if (!span || span.id !== e.model_request_start_id) break;
        const startId = span.id;
        const spanEvents = span.events;
        const interrupted = span.interrupted;
        span = undefined;
        if (e.is_error) break;
        state.failures = 0;
        const usage = e.model_usage as Record<string, number> | undefined;
        state.lastPromptTokens = (usage?.input_tokens ?? 0) + (usage?.cache_read_input_tokens ?? 0) + (usage?.cache_creation_input_tokens ?? 0);
        const turn = records.get(recordKey.turn(startId)) as TurnRecord | undefined;
        pushMessage(state.messages, 'assistant', turn?.content ?? rebuildAssistant(spanEvents));
        const spanUses = spanEvents.filter((x) => x.type.endsWith('tool_use')).map((x) => uses.get(x.id)!);
        response = { uses: spanUses, continues: spanUses.length > 0 || turn?.stop_reason === 'pause_turn' };
        if (interrupted) {
          for (const u of spanUses) resolve(u.id, textResult(u.id, INTERRUPTED_BY_USER));
          response.continues = false;
        }
        break;
      }
      case 'session.error': {
        const retry = (e.error as { retry_status?: { type?: string } } | undefined)?.retry_status?.type;
        if (retry === 'retrying') {
          state.failures++;
          owedRetry = true;
        } else {
          // The turn is given up: nothing stays owed until new input arrives.
          state.failures = 0;
          owedInput = false;
          owedRetry = false;
          if (response) response.continues = false;
        }
        break;
      }
      case 'agent.thread_context_compacted': {
        const summary = records.get(recordKey.summary(e.id)) as string | undefined;
        if (summary === undefined) break;
        // Keep the last assistant turn verbatim so results still owed to its tool calls match it.
        const last = state.messages[state.messages.length - 1];
        state.messages = [{ role: 'user', content: [{ type: 'text', text: `Summary of the conversation so far (earlier turns were compacted to fit the context window):\n\n${summary}` }] }];
        if (last?.role === 'assistant') state.messages.push(last);
        state.compactedSinceLastRequest = true;
        break;
      }
      case 'session.status_running':
        state.status = 'running';
        state.runningSince = e.processed_at ?? undefined;
        break;
      case 'session.status_rescheduled':
        state.status = 'rescheduling';
        break;
      case 'session.status_terminated':
        state.status = 'terminated';
        break;
      case 'session.status_idle':
        state.status = 'idle';
        idleReason = JSON.stringify(e.stop_reason);
        break;
    }
  }

  state.owed = owedNext();
  return state;

  function owedNext(): Owed {
    if (state.status === 'terminated') return { kind: 'none' };
    if (span) return span.interrupted ? { kind: 'close_span', startId: span.id } : { kind: 'model_request', startId: span.id };
    const open = response?.uses.filter((u) => !u.resolved) ?? [];
    const runnable = open.find((u) => u.kind !== 'custom' && (u.permission === 'allow' || u.confirmation?.result === 'allow'));
    if (runnable) return { kind: 'tool', use: runnable };
    const denied = open.find((u) => u.permission === 'deny' || u.confirmation?.result === 'deny');
    if (denied) return { kind: 'deny', use: denied };
    if (open.length > 0) return idle({ type: 'requires_action', event_ids: open.map((u) => u.id) });
    if (response?.continues || owedInput || owedRetry) return { kind: 'open_request' };
    return idle({ type: 'end_turn' });
  }

  function idle(stop_reason: StopReason): Owed {
    if (state.status === 'idle' && (stop_reason.type === 'end_turn' || idleReason === JSON.stringify(stop_reason))) return { kind: 'none' };
    return { kind: 'idle', stop_reason };
  }
}

/** Without a stored turn (it never is, for turns written by other means), the events say enough. */
function rebuildAssistant(events: StoredEvent['event'][]): ContentBlock[] {
  const out: ContentBlock[] = [];
  for (const e of events) {
    if (e.type === 'agent.message') out.push(...toModelBlocks(e.content));
    else if (e.type === 'agent.tool_use' || e.type === 'agent.custom_tool_use' || e.type === 'agent.mcp_tool_use') {
      out.push({ type: 'tool_use', id: e.id, name: e.name as string, input: e.input ?? {} });
    }
  }
  return out;
}
