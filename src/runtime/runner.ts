import type Anthropic from '@anthropic-ai/sdk';
import type { AppContext } from '../context.js';
import type { NewEvent } from '../domain/event-log.js';
import { ApiError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Session } from '../domain/sessions.js';
import { isObject } from '../domain/validate.js';
import { fitForModel, RESULT_DIR } from '../mcp/results.js';
import type { SessionState, StopReason, ToolUse, TurnRecord } from './derive.js';
import type { SessionLeases } from './leases.js';
import type { McpCallOutcome, McpFailure, McpPort, McpToolOffer } from './mcp-port.js';
import { classifyModelError, contextWindow, isAbort, type ModelClient, thinkingFor, withCacheBreakpoints } from './model.js';
import type { RuntimeOptions } from './options.js';
import { PreviewTracker } from './previews.js';
import { recordKey, type RuntimeRecords } from './records.js';
import { SessionStates } from './session-states.js';
import { StepRetries } from './step-retry.js';
import type { ToolOutcome } from './tool-executor.js';
import { evaluate, mcpServersInUse, mcpToolEnabled, toolsetFor } from './toolset.js';

type StopCause = 'interrupt' | 'retire' | 'shutdown' | 'lease_lost';

/** A session this node is driving right now. */
interface Active {
  /** The log grew since the last derive: derive again before letting go. */
  dirty: boolean;
  /** Seq of the last event the loop has looked at (for spotting an interrupt mid-step). */
  seenSeq: number;
  /** Aborts the step in flight; its reason is a StopCause. */
  step?: AbortController;
  stopped?: StopCause;
  /** Aborted when the drive is to end (any cause but an interrupt): ends a wait between write attempts. */
  halt: AbortController;
  done: Promise<void>;
}

const ZERO_USAGE = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
const RESTART_INTERRUPTED =
  'This tool call was interrupted by a restart of the Paddock server before its result was recorded. It may or may not have taken effect; check before retrying it.';
const COMPACTION_SYSTEM =
  'You compact conversations. Summarise the conversation you are given so that an assistant can continue the work from your summary alone: the task, decisions made, facts learned, files and identifiers involved, what is done and what remains. Be complete but concise.';

/**
 * Drives sessions through the agent loop. Each step derives what is owed from the log
 * (derive.ts), does exactly one thing, and appends its events under a step key, so a repeat after
 * a crash writes nothing twice. Nothing but the log decides what a step does: the in-memory folds
 * (SessionStates) only spare re-reading the part of the log already folded.
 */
export class SessionRunner {
  private readonly active = new Map<string, Active>();
  private readonly states: SessionStates;
  private readonly retries: StepRetries;
  private closed = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly leases: SessionLeases,
    private readonly records: RuntimeRecords,
    private readonly model: ModelClient,
    private readonly opts: RuntimeOptions,
    private readonly mcp: McpPort,
  ) {
    this.states = new SessionStates(ctx.events, records, opts.idleStatesKept);
    this.retries = new StepRetries({ baseMs: opts.stepRetryBaseMs, maxMs: opts.stepRetryMaxMs });
  }

  /** Something may be owed: drive the session if no one is. */
  wake(sessionId: string): void {
    if (this.closed) return;
    const a = this.active.get(sessionId);
    if (a) {
      a.dirty = true;
      return;
    }
    void this.leases.tryAcquire(sessionId).then(
      (ok) => {
        if (!ok) {
          // A session whose step is being retried is tried until a drive takes it (here or elsewhere).
          if (this.retries.pending(sessionId)) this.retryLater(sessionId);
          return;
        }
        if (this.active.has(sessionId) || this.closed) {
          this.leases.release(sessionId).catch((err) => this.ctx.log.warn({ err, session_id: sessionId }, 'lease release failed'));
          return;
        }
        this.drive(sessionId);
      },
      (err) => {
        this.ctx.log.error({ err, session_id: sessionId }, 'lease acquire failed');
        if (StepRetries.transient(err)) this.retryLater(sessionId);
      },
    );
  }

  /** Stops work on a session that is being archived or deleted. */
  async retire(sessionId: string, reason: 'archived' | 'deleted'): Promise<void> {
    const a = this.active.get(sessionId);
    if (a) {
      this.stop(a, 'retire');
      await a.done;
    }
    this.states.forget(sessionId);
    this.retries.forget(sessionId);
    await this.mcp.release(sessionId);
    await this.ctx.tools.release?.(sessionId, reason);
    if (reason === 'deleted') await this.records.deleteSession(sessionId);
  }

  /** Wakes every session that was mid-turn or has input nobody picked up (start-up recovery). */
  async recover(): Promise<void> {
    const rows = await this.ctx.store.db
      .selectFrom('sessions')
      .innerJoin('events', (j) => j.onRef('events.session_id', '=', 'sessions.id').onRef('events.seq', '=', 'sessions.last_seq'))
      .select(['sessions.id as id'])
      .where('sessions.archived_at', 'is', null)
      .where((eb) =>
        eb.or([eb('sessions.status', 'in', ['running', 'rescheduling']), eb('events.type', 'like', 'user.%'), eb('events.type', '=', 'system.message')]),
      )
      .execute();
    for (const r of rows) this.wake(r.id);
    if (rows.length) this.ctx.log.info({ sessions: rows.length }, 'runtime: resuming sessions');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retries.close();
    const all = [...this.active.values()];
    for (const a of all) this.stop(a, 'shutdown');
    await Promise.all(all.map((a) => a.done));
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** An interrupt aborts the step in flight only; any other cause also ends the drive loop. */
  private stop(a: Active, cause: StopCause): void {
    if (cause !== 'interrupt') {
      a.stopped ??= cause;
      a.halt.abort(cause);
    }
    a.step?.abort(cause);
  }

  private drive(sessionId: string): void {
    let finish!: () => void;
    const a: Active = { dirty: false, seenSeq: 0, halt: new AbortController(), done: new Promise((r) => (finish = r)) };
    this.active.set(sessionId, a);
    const unsubscribe = this.ctx.bus.subscribe(sessionId, (msg) => {
      if (msg.kind === 'deleted') this.stop(a, 'retire');
      else if (msg.kind === 'appended') {
        a.dirty = true;
        if (a.step && msg.seq > a.seenSeq) void this.checkInterrupt(sessionId, a);
      }
    });
    const renew = setInterval(() => {
      this.leases.renew(sessionId).then(
        (held) => held || this.stop(a, 'lease_lost'),
        (err) => this.ctx.log.warn({ err, session_id: sessionId }, 'lease renew failed'),
      );
    }, this.opts.leaseRenewMs);
    renew.unref();
    void (async () => {
      let session: Session | undefined;
      const fold = this.states.checkout(sessionId);
      let sound = true;
      let trouble: unknown;
      try {
        for (;;) {
          if (a.stopped) break;
          a.dirty = false;
          const state = await this.states.current(sessionId, fold);
          a.seenSeq = state.lastSeq;
          // The session object is read when the drive starts and before each model request (which
          // is when its agent, possibly updated, is used); an archive elsewhere is noticed there.
          if (!session || (state.owed.kind === 'open_request' && state.status === 'running')) {
            session = await this.ctx.sessions.get(sessionId).catch((err: unknown) => {
              if (err instanceof ApiError && err.status === 404) return undefined;
              throw err;
            });
            if (!session || session.archived_at) break;
          }
          session = await this.writeTotals(session, state);
          if (state.owed.kind === 'none') {
            if (a.dirty) continue;
            break;
          }
          await this.step(session, state, a);
        }
      } catch (err) {
        // The fold goes with the failed step: the next drive rebuilds it from the log.
        sound = false;
        if (!a.stopped) {
          if (StepRetries.transient(err)) trouble = err;
          else this.ctx.log.error({ err, session_id: sessionId }, 'runtime step failed');
        }
      } finally {
        // After a lost lease another node may be mid-step on this session, and a retired session
        // needs none: both start from the log if they are ever driven again.
        if (sound && a.stopped !== 'lease_lost' && a.stopped !== 'retire') this.states.checkin(sessionId, fold);
        clearInterval(renew);
        unsubscribe();
        await this.leases.release(sessionId).catch(() => {});
        this.active.delete(sessionId);
        finish();
        if (trouble !== undefined) this.retryLater(sessionId, trouble);
        else {
          if (sound) this.retries.succeeded(sessionId);
          // Input that arrived while letting go, or a step that failed unexpectedly, gets another pass.
          if (a.dirty && !a.stopped) this.wake(sessionId);
        }
      }
    })();
  }

  /**
   * Drives the session again after a backoff: its step failed on storage trouble, which passes
   * (docs/runtime.md, "Storage trouble").
   */
  private retryLater(sessionId: string, err?: unknown): void {
    if (this.closed) return;
    const ms = this.retries.schedule(sessionId, () => this.wake(sessionId));
    if (err !== undefined) this.ctx.log.warn({ err, session_id: sessionId, retry_in_ms: Math.round(ms) }, 'runtime step failed on storage trouble; retrying');
  }

  /**
   * An interrupt jumps the queue: it aborts the step in flight as soon as it is logged. Run
   * without waiting for it, so it answers for its own failure: a missed check only means the
   * interrupt is seen when the step ends.
   */
  private async checkInterrupt(sessionId: string, a: Active): Promise<void> {
    const step = a.step;
    try {
      const interrupts = await this.ctx.events.list(sessionId, { afterSeq: a.seenSeq, types: ['user.interrupt'], order: 'asc', limit: 1 });
      if (step && step === a.step && interrupts.length > 0) this.stop(a, 'interrupt');
    } catch (err) {
      this.ctx.log.warn({ err, session_id: sessionId }, 'interrupt check failed');
    }
  }

  /**
   * A write of the step, made again while it fails on storage trouble and the drive goes on: what
   * the step already has (a model response, a tool's result) is kept, not obtained again.
   */
  private async stored<T>(sessionId: string, write: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        const a = this.active.get(sessionId);
        if (!a || a.stopped || !StepRetries.transient(err)) throw err;
        const ms = this.retries.delay(attempt);
        this.ctx.log.warn({ err, session_id: sessionId, retry_in_ms: Math.round(ms) }, 'runtime could not store a step result; retrying');
        await sleep(ms, a.halt.signal);
        if (a.stopped) throw err;
      }
    }
  }

  private append(sessionId: string, events: NewEvent[], dedupeKey: string) {
    return this.stored(sessionId, () => this.ctx.events.append(sessionId, events, { dedupeKey }));
  }

  private async step(session: Session, state: SessionState, a: Active): Promise<void> {
    const owed = state.owed;
    const id = session.id;
    if (owed.kind === 'none') return;
    if (owed.kind === 'idle') return this.goIdle(session, state, owed.stop_reason);
    if (state.status !== 'running') {
      await this.append(id, [{ type: 'session.status_running' }], `running:${state.lastSeq}`);
      return;
    }
    const controller = new AbortController();
    a.step = controller;
    // An interrupt logged after the derive but before this step could abort it is caught here.
    void this.checkInterrupt(id, a);
    try {
      switch (owed.kind) {
        case 'open_request':
          return await this.openRequest(session, state, controller.signal);
        case 'model_request':
          return await this.modelRequest(session, state, owed.startId, controller.signal);
        case 'close_span':
          await this.append(id, [spanEnd(owed.startId, true)], `mre:${owed.startId}`);
          return;
        case 'tool':
          return await this.runTool(session, owed.use, controller.signal);
        case 'deny': {
          const msg =
            owed.use.confirmation?.deny_message ??
            (owed.use.permission === 'deny' ? `There is no tool named ${owed.use.name} enabled for this agent.` : 'The user denied this tool call.');
          await this.toolResult(id, owed.use, { is_error: true, content: [{ type: 'text', text: msg }] });
          return;
        }
      }
    } finally {
      a.step = undefined;
    }
  }

  /**
   * Session `usage` and `stats.active_seconds` are sums over the log (model request ends, running
   * phases), written to the session whenever they differ from what it holds. Being totals, not
   * increments, a write lost to a crash is made good by the next drive.
   */
  private async writeTotals(session: Session, state: SessionState): Promise<Session> {
    if (sameTotals(session, state)) return session;
    const patched = await this.stored(session.id, () =>
      this.ctx.sessions.patch(session.id, (s) => ({
        ...s,
        usage: { ...s.usage, ...structuredClone(state.usage) },
        stats: { ...s.stats, active_seconds: state.activeSeconds },
      })),
    );
    return { ...session, usage: patched.usage, stats: patched.stats };
  }

  private async goIdle(session: Session, state: SessionState, stop_reason: StopReason): Promise<void> {
    await this.append(session.id, [{ type: 'session.status_idle', stop_reason, stop_details: null }], `idle:${state.lastSeq}`);
    if (stop_reason.type === 'end_turn')
      await this.ctx.tools.afterTurn?.(session).catch((err) => this.ctx.log.warn({ err, session_id: session.id }, 'afterTurn failed'));
  }

  private system(session: Session, state: SessionState): string[] {
    return [session.agent.system ?? '', ...state.systemAppend];
  }

  /** Opens the next model request, compacting the context first when it is near full. */
  private async openRequest(session: Session, state: SessionState, signal: AbortSignal): Promise<void> {
    // The request consumes what the log holds when its span opens; if the log moved (an interrupt,
    // more input), derive again rather than open a span on a stale view.
    if ((await this.ctx.events.lastSeq(session.id)) !== state.lastSeq) return;
    const modelId = session.agent.model.id;
    const threshold = this.opts.compactionThresholdTokens ?? 0.8 * contextWindow(modelId);
    if (state.lastPromptTokens > threshold && !state.compactedSinceLastRequest && state.messages.length > 0) {
      try {
        const res = await this.model.create(
          {
            model: modelId,
            max_tokens: 8192,
            system: COMPACTION_SYSTEM,
            messages: [
              {
                role: 'user',
                content: `<conversation>\n${transcript(this.system(session, state), state.messages)}\n</conversation>\n\nSummarise this conversation.`,
              },
            ],
          },
          signal,
        );
        const summary = res.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
        const eventId = newId('event');
        await this.stored(session.id, () => this.records.put(session.id, recordKey.summary(eventId), summary));
        await this.append(
          session.id,
          [{ type: 'agent.thread_context_compacted', id: eventId, pre_compaction_tokens: state.lastPromptTokens }],
          `compact:${state.lastSeq}`,
        );
        return;
      } catch (err) {
        if (signal.aborted) return;
        // A failed compaction is not fatal: the request goes ahead with the full context.
        this.ctx.log.warn({ err, session_id: session.id }, 'context compaction failed');
      }
    }
    await this.append(session.id, [{ type: 'span.model_request_start' }], `mrs:${state.lastSeq}`);
  }

  private async modelRequest(session: Session, state: SessionState, startId: string, signal: AbortSignal): Promise<void> {
    const id = session.id;
    const agent = session.agent;
    let offers: McpToolOffer[] = [];
    const servers = mcpServersInUse(agent);
    if (servers.length) {
      let listed: Awaited<ReturnType<McpPort['tools']>>;
      try {
        listed = await this.mcp.tools(session, servers, signal);
      } catch (err) {
        if (!signal.aborted) throw err;
        if (signal.reason === 'interrupt') await this.append(id, [spanEnd(startId, true)], `mre:${startId}`);
        return;
      }
      // A server the agent's tools need that cannot be used ends the turn; the next turn tries again.
      if (listed.failures.length) {
        await this.append(id, [spanEnd(startId, true), ...listed.failures.map(mcpErrorEvent)], `mre:${startId}`);
        return;
      }
      offers = listed.offers;
    }
    const toolset = toolsetFor(agent, this.ctx.tools, offers);
    const modelId = agent.model.id;
    const params: Anthropic.Messages.MessageCreateParamsNonStreaming = {
      model: modelId,
      max_tokens: this.opts.maxTokens,
      ...thinkingFor(agent.model, this.opts.maxTokens),
      ...withCacheBreakpoints(this.system(session, state), state.messages),
      ...(toolset.definitions.length ? { tools: toolset.definitions } : {}),
    };
    const previews = new PreviewTracker(this.ctx.bus, id);
    let message: Anthropic.Messages.Message;
    try {
      if (params.messages.length === 0) throw new Error('nothing to send to the model');
      message = await this.model.stream(params, signal, (e) => previews.onEvent(e));
    } catch (err) {
      if (signal.aborted || isAbort(err)) {
        // An interrupt closes the span; a shutdown leaves it open, to be made again on restart.
        if (signal.reason === 'interrupt') await this.append(id, [spanEnd(startId, true)], `mre:${startId}`);
        return;
      }
      return this.modelFailed(session, state, startId, err, signal);
    }
    const { events, content } = responseEvents(message, previews, toolset);
    const usage = message.usage;
    // The record (written first) keeps the usage in full; the session's totals are summed from it.
    await this.stored(id, () => this.records.put(id, recordKey.turn(startId), { content, stop_reason: message.stop_reason, usage } satisfies TurnRecord));
    const model_usage = {
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
    };
    await this.append(id, [...events, { type: 'span.model_request_end', model_request_start_id: startId, is_error: false, model_usage }], `mre:${startId}`);
  }

  /** Transient failures are retried with backoff (rescheduled); others end the turn with an error. */
  private async modelFailed(session: Session, state: SessionState, startId: string, err: unknown, signal: AbortSignal): Promise<void> {
    const f = classifyModelError(err);
    this.ctx.log.warn({ session_id: session.id, error_type: f.type, retryable: f.retryable, message: f.message }, 'model request failed');
    const end = spanEnd(startId, true);
    if (f.retryable && state.failures < this.opts.maxRetries) {
      await this.append(
        session.id,
        [
          end,
          { type: 'session.error', error: { type: f.type, message: f.message, retry_status: { type: 'retrying' } } },
          { type: 'session.status_rescheduled' },
        ],
        `mre:${startId}`,
      );
      const backoff = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** state.failures) * (0.5 + Math.random() / 2);
      await sleep(Math.min(this.opts.retryMaxMs, Math.max(backoff, f.retryAfterMs ?? 0)), signal);
      return;
    }
    const stop_reason: StopReason = f.retryable ? { type: 'retries_exhausted' } : { type: 'end_turn' };
    await this.append(
      session.id,
      [
        end,
        { type: 'session.error', error: { type: f.type, message: f.message, retry_status: { type: f.retryable ? 'exhausted' : 'terminal' } } },
        { type: 'session.status_idle', stop_reason, stop_details: null },
      ],
      `mre:${startId}`,
    );
  }

  /**
   * Runs one built-in tool call. A call that was handed to the executor before a crash and has
   * no result is re-run only when the tool is read-only; otherwise it gets an is_error result.
   */
  private async runTool(session: Session, use: ToolUse, signal: AbortSignal): Promise<void> {
    if (use.kind === 'mcp') return this.runMcpTool(session, use, signal);
    const executor = this.ctx.tools;
    // Read from the records, not the fold: another node may have started the call since.
    const started = (await this.records.get(session.id, [recordKey.toolStarted(use.id)])).size > 0;
    if (started && !executor.isReadOnly(use.name)) {
      return this.toolResult(session.id, use, { is_error: true, content: [{ type: 'text', text: RESTART_INTERRUPTED }] });
    }
    if (!toolsetFor(session.agent, executor).route(use.name)) {
      return this.toolResult(session.id, use, { is_error: true, content: [{ type: 'text', text: `There is no tool named ${use.name}.` }] });
    }
    await this.stored(session.id, () => this.records.put(session.id, recordKey.toolStarted(use.id), { at: new Date().toISOString() }));
    let outcome: ToolOutcome;
    try {
      const environment = await this.ctx.environments.get(session.environment_id);
      outcome = await executor.execute({ session, environment, toolUseId: use.id, name: use.name, input: use.input, signal });
    } catch (err) {
      outcome = { is_error: true, content: [{ type: 'text', text: `The ${use.name} tool failed: ${err instanceof Error ? err.message : String(err)}` }] };
    }
    if (signal.aborted) {
      if (signal.reason !== 'interrupt') return; // shutdown: the restart rule applies
      outcome = { is_error: true, content: [{ type: 'text', text: 'The user interrupted this tool call before it finished.' }] };
    }
    await this.toolResult(session.id, use, outcome);
  }

  /**
   * Runs one MCP tool call, under the same restart rule as a built-in tool with side effects. A
   * server that cannot be reached or refuses the credential gives the model an is_error result
   * and the session a `session.error` that ends the turn; the next turn connects afresh.
   */
  private async runMcpTool(session: Session, use: ToolUse, signal: AbortSignal): Promise<void> {
    const id = session.id;
    const server = use.server ?? '';
    if ((await this.records.get(id, [recordKey.toolStarted(use.id)])).size > 0) {
      return this.toolResult(id, use, { is_error: true, content: [{ type: 'text', text: RESTART_INTERRUPTED }] });
    }
    // The agent may have changed while the call waited for confirmation.
    if (!mcpToolEnabled(session.agent, server, use.name)) {
      return this.toolResult(id, use, {
        is_error: true,
        content: [{ type: 'text', text: `The MCP tool ${use.name} of server ${server} is not enabled for this agent.` }],
      });
    }
    await this.records.put(id, recordKey.toolStarted(use.id), { at: new Date().toISOString() });
    let outcome: McpCallOutcome;
    try {
      outcome = await this.mcp.call(session, server, use.name, use.input, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
      outcome = { kind: 'result', is_error: true, content: [] };
    }
    if (signal.aborted) {
      if (signal.reason !== 'interrupt') return; // shutdown: the restart rule applies
      outcome = { kind: 'result', is_error: true, content: [{ type: 'text', text: 'The user interrupted this tool call before it finished.' }] };
    }
    if (outcome.kind === 'failure') {
      const result: NewEvent = {
        type: 'agent.mcp_tool_result',
        mcp_tool_use_id: use.id,
        content: [{ type: 'text', text: `The tool could not be called. ${outcome.failure.message}.` }],
        is_error: true,
      };
      await this.append(id, [result, mcpErrorEvent(outcome.failure)], `tool:${use.id}`);
      return;
    }
    const fitted = await fitForModel(outcome, (text) => this.keepInSandbox(session, use, text, signal));
    await this.toolResult(id, use, fitted);
  }

  /** Writes a large MCP result into the session's sandbox; the path, or undefined when there is no sandbox to keep it. */
  private async keepInSandbox(session: Session, use: ToolUse, content: string, signal: AbortSignal): Promise<string | undefined> {
    const file_path = `${RESULT_DIR}/${use.id}.txt`;
    try {
      const environment = await this.ctx.environments.get(session.environment_id);
      const wrote = await this.ctx.tools.execute({ session, environment, toolUseId: use.id, name: 'write', input: { file_path, content }, signal });
      return wrote.is_error ? undefined : file_path;
    } catch (err) {
      this.ctx.log.warn({ err, session_id: session.id }, 'could not keep a large MCP result in the sandbox');
      return undefined;
    }
  }

  private async toolResult(sessionId: string, use: ToolUse, outcome: ToolOutcome): Promise<void> {
    const event: NewEvent =
      use.kind === 'mcp'
        ? { type: 'agent.mcp_tool_result', mcp_tool_use_id: use.id, content: outcome.content, is_error: outcome.is_error }
        : { type: 'agent.tool_result', tool_use_id: use.id, content: outcome.content, is_error: outcome.is_error };
    const error: NewEvent[] = outcome.sessionError ? [{ type: 'session.error', error: outcome.sessionError }] : [];
    await this.append(sessionId, [event, ...error], `tool:${use.id}`);
  }
}

function sameTotals(session: Session, state: SessionState): boolean {
  const a = session.usage;
  const b = state.usage;
  const st = (u: typeof a.server_tool_use) => `${u?.web_fetch_requests ?? 0}/${u?.web_search_requests ?? 0}`;
  return (
    a.input_tokens === b.input_tokens &&
    a.output_tokens === b.output_tokens &&
    a.cache_read_input_tokens === b.cache_read_input_tokens &&
    a.cache_creation.ephemeral_5m_input_tokens === b.cache_creation.ephemeral_5m_input_tokens &&
    a.cache_creation.ephemeral_1h_input_tokens === b.cache_creation.ephemeral_1h_input_tokens &&
    st(a.server_tool_use) === st(b.server_tool_use) &&
    Math.abs((session.stats.active_seconds ?? 0) - state.activeSeconds) < 0.001
  );
}

/** A server the session could not use; the turn it ends can be tried again. */
function mcpErrorEvent(f: McpFailure): NewEvent {
  const type = f.kind === 'authentication' ? 'mcp_authentication_failed_error' : 'mcp_connection_failed_error';
  return { type: 'session.error', error: { type, mcp_server_name: f.server, message: f.message, retry_status: { type: 'exhausted' } } };
}

function spanEnd(startId: string, isError: boolean): NewEvent {
  return { type: 'span.model_request_end', model_request_start_id: startId, is_error: isError, model_usage: { ...ZERO_USAGE } };
}

/**
 * The events a response is logged as, in content order: `agent.thinking`, `agent.message` (one
 * per run of text blocks), `agent.tool_use` / `agent.custom_tool_use`; and the content as it is
 * sent back to the model, with tool_use ids replaced by the event ids the results will name.
 */
function responseEvents(message: Anthropic.Messages.Message, previews: PreviewTracker, toolset: ReturnType<typeof toolsetFor>) {
  const events: NewEvent[] = [];
  const content: Anthropic.Messages.ContentBlockParam[] = [];
  let text: { id: string; content: Array<{ type: 'text'; text: string }> } | undefined;
  message.content.forEach((b, i) => {
    const slot = previews.slot(i);
    if (b.type === 'text') {
      if (!text || text.id !== slot.eventId) {
        text = { id: slot.eventId, content: [] };
        events.push({ type: 'agent.message', id: text.id, content: text.content });
      }
      text.content.push({ type: 'text', text: b.text });
      content.push({ type: 'text', text: b.text });
      return;
    }
    text = undefined;
    if (b.type === 'thinking') {
      events.push({ type: 'agent.thinking', id: slot.eventId });
      content.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
    } else if (b.type === 'redacted_thinking') {
      events.push({ type: 'agent.thinking', id: slot.eventId });
      content.push({ type: 'redacted_thinking', data: b.data });
    } else if (b.type === 'tool_use') {
      const input = isObject(b.input) ? b.input : {};
      const route = toolset.route(b.name);
      if (route?.kind === 'custom') events.push({ type: 'agent.custom_tool_use', id: slot.eventId, name: b.name, input });
      else if (route?.kind === 'mcp')
        events.push({ type: 'agent.mcp_tool_use', id: slot.eventId, mcp_server_name: route.server, name: route.tool, input, ...evaluate(route.policy) });
      // A tool the agent does not have is refused before any policy applies: deny, no evaluation.
      else
        events.push({ type: 'agent.tool_use', id: slot.eventId, name: b.name, input, ...(route ? evaluate(route.policy) : { evaluated_permission: 'deny' }) });
      content.push({ type: 'tool_use', id: slot.eventId, name: b.name, input });
    } else {
      // Server tool blocks (web search and the like) go back to the model as they came.
      content.push(b);
    }
  });
  return { events, content };
}

/** The conversation as plain text, for the compaction request. */
function transcript(system: string[], messages: Anthropic.Messages.MessageParam[]): string {
  const lines: string[] = [];
  const sys = system.filter(Boolean).join('\n');
  if (sys) lines.push(`[system]\n${sys}`);
  for (const m of messages) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content } as const] : m.content;
    for (const b of blocks) {
      if (b.type === 'text') lines.push(`[${m.role}]\n${b.text}`);
      else if (b.type === 'tool_use') lines.push(`[${m.role} called tool ${b.name}]\n${JSON.stringify(b.input)}`);
      else if (b.type === 'tool_result') {
        const c = typeof b.content === 'string' ? b.content : (b.content ?? []).map((x) => (x.type === 'text' ? x.text : `[${x.type}]`)).join('\n');
        lines.push(`[tool result${b.is_error ? ' (error)' : ''}]\n${c}`);
      } else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') lines.push(`[${m.role}: ${b.type}]`);
    }
  }
  return lines.join('\n\n');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
