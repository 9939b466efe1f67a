import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event-log.js';
import { derive, SessionFold, type TurnRecord } from '../../src/runtime/derive.js';
import { recordKey, type RuntimeRecord } from '../../src/runtime/records.js';

/**
 * The fold (src/runtime/derive.ts) on logs built by hand, in the shapes the runner and the API
 * write: the runtime's rules checked in milliseconds, without a process. The same rules are
 * checked end to end in test/runtime/*.test.ts.
 */

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A session log under construction: each event gets the next seq and, by default, one more second. */
class Log {
  readonly events: StoredEvent[] = [];
  readonly records = new Map<string, RuntimeRecord>();
  private clock = T0;

  add(type: string, fields: Record<string, unknown> = {}, opts: { seconds?: number } = {}): string {
    this.clock += (opts.seconds ?? 1) * 1000;
    const seq = this.events.length + 1;
    const id = (fields.id as string | undefined) ?? `sevt_${seq}`;
    const event = { type, ...fields, id, processed_at: new Date(this.clock).toISOString() };
    this.events.push({ seq, event: event as unknown as StoredEvent['event'] });
    return id;
  }

  user(text: string): string {
    return this.add('user.message', { content: [{ type: 'text', text }] });
  }

  /** One model request, answered with `blocks` (agent.* events), ended ok with `usage`. */
  request(
    blocks: Array<{ type: string; [k: string]: unknown }>,
    usage: Record<string, number> = { input_tokens: 10, output_tokens: 5 },
  ): { start: string; ids: string[] } {
    const start = this.add('span.model_request_start');
    const ids = blocks.map((b) => this.add(b.type, b));
    this.add('span.model_request_end', {
      model_request_start_id: start,
      is_error: false,
      model_usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...usage },
    });
    return { start, ids };
  }

  idle(stop_reason: Record<string, unknown>): void {
    this.add('session.status_idle', { stop_reason, stop_details: null });
  }

  state() {
    return derive(this.events, this.records);
  }
}

const say = (text: string) => ({ type: 'agent.message', content: [{ type: 'text', text }] });
const bash = (permission: 'allow' | 'ask' | 'deny' = 'allow') => ({
  type: 'agent.tool_use',
  name: 'bash',
  input: { command: 'ls' },
  evaluated_permission: permission,
});
const custom = (name = 'lookup') => ({ type: 'agent.custom_tool_use', name, input: {} });
const retrying = { type: 'model_overloaded_error', message: 'overloaded', retry_status: { type: 'retrying' } };
const exhausted = { ...retrying, retry_status: { type: 'exhausted' } };
/** The text blocks of a message, in order. */
const texts = (m: { content: unknown }) => (m.content as Array<{ type: string; text?: string }>).filter((b) => b.type === 'text').map((b) => b.text);

describe('what a session owes', () => {
  it('a message is owed a model request; the open request is made (again, after a crash) until its span ends; then idle end_turn, once', () => {
    const log = new Log();
    expect(log.state()).toMatchObject({ status: 'idle', owed: { kind: 'none' }, lastSeq: 0 });
    log.user('hello');
    expect(log.state().owed).toEqual({ kind: 'open_request' });
    log.add('session.status_running');
    expect(log.state()).toMatchObject({ status: 'running', owed: { kind: 'open_request' } });
    const start = log.add('span.model_request_start');
    const open = log.state();
    expect(open.owed).toEqual({ kind: 'model_request', startId: start });
    // The span start consumed the message.
    expect(open.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
    log.add('agent.message', say('hi there'));
    log.add('span.model_request_end', { model_request_start_id: start, is_error: false, model_usage: { input_tokens: 3, output_tokens: 2 } });
    expect(log.state().owed).toEqual({ kind: 'idle', stop_reason: { type: 'end_turn' } });
    log.idle({ type: 'end_turn' });
    const done = log.state();
    expect(done).toMatchObject({ status: 'idle', owed: { kind: 'none' }, lastSeq: 6 });
    expect(done.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('input sent while a request runs is not lost: it is owed the next request of the same turn', () => {
    const log = new Log();
    log.user('first');
    log.add('session.status_running');
    const start = log.add('span.model_request_start');
    log.user('second, sent mid-request');
    log.add('agent.message', say('answer to first'));
    log.add('span.model_request_end', {
      model_request_start_id: start,
      is_error: false,
      model_usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    expect(log.state().owed).toEqual({ kind: 'open_request' });
    log.add('span.model_request_start');
    const s = log.state();
    expect(s.messages.map((m) => [m.role, texts(m)])).toEqual([
      ['user', ['first']],
      ['assistant', ['answer to first']],
      ['user', ['second, sent mid-request']],
    ]);
  });

  it('an allowed built-in call is owed its run; its result is owed to the model, ahead of any text', () => {
    const log = new Log();
    log.user('list files');
    log.add('session.status_running');
    const { ids } = log.request([bash('allow')]);
    expect(log.state().owed).toMatchObject({ kind: 'tool', use: { id: ids[0], name: 'bash', input: { command: 'ls' }, kind: 'builtin' } });
    log.user('and be quick');
    expect(log.state().owed.kind).toBe('tool');
    log.add('agent.tool_result', { tool_use_id: ids[0], content: [{ type: 'text', text: 'a.txt' }], is_error: false });
    expect(log.state().owed).toEqual({ kind: 'open_request' });
    log.add('span.model_request_start');
    expect(log.state().messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: ids[0], content: [{ type: 'text', text: 'a.txt' }] },
        { type: 'text', text: 'and be quick' },
      ],
    });
  });

  it('always_ask waits on a confirmation: deny is owed an is_error result, allow a run; a refused tool is owed its denial', () => {
    const log = new Log();
    log.user('go');
    log.add('session.status_running');
    const { ids } = log.request([bash('ask'), bash('ask')]);
    expect(log.state().owed).toEqual({ kind: 'idle', stop_reason: { type: 'requires_action', event_ids: ids } });
    log.idle({ type: 'requires_action', event_ids: ids });
    expect(log.state().owed).toEqual({ kind: 'none' });
    log.add('user.tool_confirmation', { tool_use_id: ids[0], result: 'deny', deny_message: 'not now' });
    expect(log.state().owed).toMatchObject({ kind: 'deny', use: { id: ids[0], confirmation: { result: 'deny', deny_message: 'not now' } } });
    // The first confirmation of a call is the one that counts.
    log.add('user.tool_confirmation', { tool_use_id: ids[0], result: 'allow' });
    expect(log.state().owed).toMatchObject({ kind: 'deny', use: { id: ids[0] } });
    log.add('user.tool_confirmation', { tool_use_id: ids[1], result: 'allow' });
    // A run is owed before a denial is delivered.
    expect(log.state().owed).toMatchObject({ kind: 'tool', use: { id: ids[1] } });

    const refused = new Log();
    refused.user('go');
    refused.add('session.status_running');
    const r = refused.request([{ type: 'agent.tool_use', name: 'rm_rf', input: {}, evaluated_permission: 'deny' }]);
    expect(refused.state().owed).toMatchObject({ kind: 'deny', use: { id: r.ids[0], permission: 'deny' } });
  });

  it('custom tools: idle requires_action until answered; answering one of two re-idles with the other; a second answer changes nothing', () => {
    const log = new Log();
    log.user('look both up');
    log.add('session.status_running');
    const { ids } = log.request([custom('a'), custom('b')]);
    log.idle({ type: 'requires_action', event_ids: ids });
    log.add('user.custom_tool_result', { custom_tool_use_id: ids[0], content: [{ type: 'text', text: '1' }] });
    expect(log.state().owed).toEqual({ kind: 'idle', stop_reason: { type: 'requires_action', event_ids: [ids[1]] } });
    log.idle({ type: 'requires_action', event_ids: [ids[1]] });
    const before = log.state();
    log.add('user.custom_tool_result', { custom_tool_use_id: ids[0], content: [{ type: 'text', text: 'again' }] });
    log.add('user.custom_tool_result', { custom_tool_use_id: 'sevt_unknown', content: [] });
    expect(log.state()).toEqual({ ...before, lastSeq: before.lastSeq + 2 });
    log.add('user.custom_tool_result', { custom_tool_use_id: ids[1], content: [{ type: 'text', text: '2' }] });
    expect(log.state().owed).toEqual({ kind: 'open_request' });
    // The model gets each call's first answer.
    log.add('span.model_request_start');
    expect(log.state().messages.at(-1)!.content).toEqual([
      { type: 'tool_result', tool_use_id: ids[0], content: [{ type: 'text', text: '1' }] },
      { type: 'tool_result', tool_use_id: ids[1], content: [{ type: 'text', text: '2' }] },
    ]);
  });

  it('an interrupt mid-request is owed the span closed, then idle end_turn; input queued before it waits for the next message', () => {
    const log = new Log();
    log.user('talk');
    log.add('session.status_running');
    const start = log.add('span.model_request_start');
    log.user('queued');
    log.add('user.interrupt');
    expect(log.state().owed).toEqual({ kind: 'close_span', startId: start });
    log.add('span.model_request_end', { model_request_start_id: start, is_error: true });
    expect(log.state().owed).toEqual({ kind: 'idle', stop_reason: { type: 'end_turn' } });
    log.idle({ type: 'end_turn' });
    expect(log.state().owed).toEqual({ kind: 'none' });
    log.user('next');
    expect(log.state().owed).toEqual({ kind: 'open_request' });
    log.add('span.model_request_start');
    expect(log.state().messages.map(texts)).toEqual([['talk', 'queued', 'next']]);
  });

  it('an interrupt while waiting on the client ends the turn once (idle end_turn, no run); the model is told the call was interrupted', () => {
    const log = new Log();
    log.user('ask');
    log.add('session.status_running');
    const { ids } = log.request([custom()]);
    log.idle({ type: 'requires_action', event_ids: ids });
    log.add('user.interrupt');
    expect(log.state().owed).toEqual({ kind: 'idle', stop_reason: { type: 'end_turn' } });
    log.idle({ type: 'end_turn' });
    expect(log.state().owed).toEqual({ kind: 'none' });
    // A late answer to the cancelled call, or another interrupt, is owed nothing.
    log.add('user.custom_tool_result', { custom_tool_use_id: ids[0], content: [{ type: 'text', text: 'late' }] });
    log.add('user.interrupt');
    expect(log.state().owed).toEqual({ kind: 'none' });
    log.user('never mind');
    log.add('span.model_request_start');
    expect(log.state().messages.at(-1)!.content).toEqual([
      {
        type: 'tool_result',
        tool_use_id: ids[0],
        content: [{ type: 'text', text: 'The user interrupted this tool call before it finished.' }],
        is_error: true,
      },
      { type: 'text', text: 'never mind' },
    ]);
  });

  it('a retryable model error is owed the request again; after retries_exhausted and its idle nothing is owed until new input', () => {
    const log = new Log();
    log.user('hi');
    log.add('session.status_running');
    for (let i = 0; i < 2; i++) {
      const start = log.add('span.model_request_start');
      log.add('span.model_request_end', { model_request_start_id: start, is_error: true });
      log.add('session.error', { error: retrying });
      log.add('session.status_rescheduled');
      expect(log.state()).toMatchObject({ status: 'rescheduling', failures: i + 1, owed: { kind: 'open_request' } });
      log.add('session.status_running');
    }
    const start = log.add('span.model_request_start');
    log.add('span.model_request_end', { model_request_start_id: start, is_error: true });
    log.add('session.error', { error: exhausted });
    log.idle({ type: 'retries_exhausted' });
    // Not a second idle (end_turn): the turn already ended.
    expect(log.state()).toMatchObject({ status: 'idle', failures: 0, owed: { kind: 'none' } });
    log.user('again');
    expect(log.state().owed).toEqual({ kind: 'open_request' });
  });

  describe('setup errors around a tool call (docs/runtime.md, "Setup errors")', () => {
    /** A response with two bash calls; the first call's sandbox start logs `error`, as the executor and runner write it. */
    function firstCallWith(error: Record<string, unknown>, result: { text: string; is_error: boolean }) {
      const log = new Log();
      log.user('two calls');
      log.add('session.status_running');
      const { ids } = log.request([bash('allow'), bash('allow')]);
      const package_ = error.type === 'unknown_error';
      // The executor reports a resource it could not bring while the sandbox starts, before the
      // result; a failed install comes in the same step as the call's failed result, after it.
      if (!package_) log.add('session.error', { error });
      log.add('agent.tool_result', { tool_use_id: ids[0], content: [{ type: 'text', text: result.text }], is_error: result.is_error });
      if (package_) log.add('session.error', { error });
      return { log, ids };
    }

    it('a failed package install ends the turn: the other calls are not run, idle end_turn is owed, and the model hears of both calls with the next message', () => {
      const { log, ids } = firstCallWith(
        { type: 'unknown_error', message: 'install failed', retry_status: { type: 'exhausted' } },
        { text: 'install failed', is_error: true },
      );
      expect(log.state()).toMatchObject({ failures: 0, owed: { kind: 'idle', stop_reason: { type: 'end_turn' } } });
      log.idle({ type: 'end_turn' });
      expect(log.state().owed).toEqual({ kind: 'none' });
      log.user('again');
      log.add('span.model_request_start');
      expect(log.state().messages.at(-1)).toEqual({
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: ids[0], content: [{ type: 'text', text: 'install failed' }], is_error: true },
          {
            type: 'tool_result',
            tool_use_id: ids[1],
            content: [{ type: 'text', text: expect.stringMatching(/^This tool call was not run: the turn ended with an error/) }],
            is_error: true,
          },
          { type: 'text', text: 'again' },
        ],
      });
    });

    it('a repository not cloned or a credential host blocked leaves the turn alone, whatever its retry_status: the next call runs, no retry is counted, the turn goes on to the model', () => {
      const sideErrors = [
        { type: 'repository_not_found_error', message: 'not found', repository_url: 'https://github.com/a/b', retry_status: { type: 'retrying' } },
        { type: 'repository_clone_error', message: 'clone failed', repository_url: null, retry_status: { type: 'exhausted' } },
        { type: 'credential_host_unreachable_error', message: 'blocked', credential_id: 'vcrd_1', vault_id: 'vlt_1', retry_status: { type: 'retrying' } },
      ];
      for (const error of sideErrors) {
        const { log, ids } = firstCallWith(error, { text: 'ok', is_error: false });
        const state = log.state();
        expect(state.owed, error.type).toMatchObject({ kind: 'tool', use: { id: ids[1] } });
        expect(state.failures, error.type).toBe(0);
        expect(state.status, error.type).toBe('running');
        log.add('agent.tool_result', { tool_use_id: ids[1], content: [{ type: 'text', text: 'ok' }], is_error: false });
        expect(log.state().owed, error.type).toEqual({ kind: 'open_request' });
        log.add('span.model_request_start');
        expect(log.state().messages.at(-1)!.content, error.type).toEqual([
          { type: 'tool_result', tool_use_id: ids[0], content: [{ type: 'text', text: 'ok' }] },
          { type: 'tool_result', tool_use_id: ids[1], content: [{ type: 'text', text: 'ok' }] },
        ]);
      }
    });
  });

  it('a terminated session is owed nothing, whatever arrives', () => {
    const log = new Log();
    log.add('session.status_terminated');
    log.user('hello?');
    expect(log.state()).toMatchObject({ status: 'terminated', owed: { kind: 'none' } });
  });

  it('system.message text is appended to the system prompt, in order, and is not a turn of its own', () => {
    const log = new Log();
    log.add('system.message', {
      content: [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
      ],
    });
    log.add('system.message', { content: [{ type: 'text', text: 'three' }] });
    expect(log.state()).toMatchObject({ systemAppend: ['one', 'two', 'three'], owed: { kind: 'none' } });
  });

  it('after a compaction the conversation is its summary, plus the last assistant turn when results are still owed to it', () => {
    const log = new Log();
    log.user('long task');
    log.add('session.status_running');
    const { ids } = log.request([say('working'), bash('allow')], { input_tokens: 9000, output_tokens: 10 });
    expect(log.state()).toMatchObject({ lastPromptTokens: 9000, compactedSinceLastRequest: false });
    const compacted = log.add('agent.thread_context_compacted', { pre_compaction_tokens: 9000 });
    // Without its record (written before the event) a compaction changes nothing.
    const unrecorded = log.state();
    expect(unrecorded.compactedSinceLastRequest).toBe(false);
    log.records.set(recordKey.summary(compacted), 'the user wants a long task done');
    const s = log.state();
    expect(s.compactedSinceLastRequest).toBe(true);
    expect(s.messages).toHaveLength(2);
    expect(texts(s.messages[0])[0]).toMatch(/the user wants a long task done$/);
    expect(s.messages[1]).toMatchObject({
      role: 'assistant',
      content: [
        { type: 'text', text: 'working' },
        { type: 'tool_use', id: ids[1] },
      ],
    });
    log.add('span.model_request_start');
    expect(log.state().compactedSinceLastRequest).toBe(false);
  });
});

describe('usage and active time', () => {
  it('usage sums every completed request (the turn record in full when there is one); failed requests add nothing', () => {
    const log = new Log();
    log.user('a');
    log.add('session.status_running');
    log.request([say('one')], { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 5, cache_creation_input_tokens: 3 });
    const { start } = log.request([say('two')], { input_tokens: 200, output_tokens: 20 });
    const turn: TurnRecord = {
      content: [{ type: 'text', text: 'two' }],
      stop_reason: 'end_turn',
      usage: {
        input_tokens: 200,
        output_tokens: 20,
        cache_read_input_tokens: 50,
        cache_creation: { ephemeral_5m_input_tokens: 1, ephemeral_1h_input_tokens: 7 },
        server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 },
      },
    };
    log.records.set(recordKey.turn(start), turn);
    const failed = log.add('span.model_request_start');
    log.add('span.model_request_end', { model_request_start_id: failed, is_error: true, model_usage: { input_tokens: 999, output_tokens: 999 } });
    expect(log.state().usage).toEqual({
      input_tokens: 300,
      output_tokens: 30,
      cache_read_input_tokens: 55,
      cache_creation: { ephemeral_5m_input_tokens: 4, ephemeral_1h_input_tokens: 7 },
      server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 },
    });
  });

  it('active time is the time from each status_running to the status that ended it, by processed_at', () => {
    const log = new Log();
    log.user('a');
    log.add('session.status_running');
    log.add('span.model_request_start', {}, { seconds: 2 });
    log.add('session.status_rescheduled', {}, { seconds: 3 }); // running 5 s
    log.add('session.status_running', {}, { seconds: 100 }); // not counted: rescheduled
    log.idle({ type: 'end_turn' }); // running 1 s more
    log.user('b');
    log.add('session.status_running', {}, { seconds: 50 });
    expect(log.state().activeSeconds).toBe(6);
    log.add('session.status_running', {}, { seconds: 4 }); // still the same run
    log.idle({ type: 'end_turn' });
    expect(log.state().activeSeconds).toBe(11);
  });
});

describe('folding in parts', () => {
  /** A log with a bit of everything: waits, a confirmation, an interrupt, retries, queued input. */
  function everything(): Log {
    const log = new Log();
    log.user('one');
    log.add('session.status_running');
    const c = log.request([{ type: 'agent.thinking' }, say('asking'), custom()]);
    log.idle({ type: 'requires_action', event_ids: c.ids.slice(2) });
    log.add('user.custom_tool_result', { custom_tool_use_id: c.ids[2], content: [{ type: 'text', text: 'yes' }] });
    log.add('session.status_running');
    const a = log.request([bash('ask')]);
    log.idle({ type: 'requires_action', event_ids: a.ids });
    log.add('user.tool_confirmation', { tool_use_id: a.ids[0], result: 'allow' });
    log.add('session.status_running');
    log.add('agent.tool_result', { tool_use_id: a.ids[0], content: [{ type: 'text', text: 'ok' }], is_error: false });
    const failed = log.add('span.model_request_start');
    log.add('span.model_request_end', { model_request_start_id: failed, is_error: true });
    log.add('session.error', { error: retrying });
    log.add('session.status_rescheduled');
    log.add('session.status_running');
    const cut = log.add('span.model_request_start');
    log.user('queued');
    log.add('user.interrupt');
    log.add('span.model_request_end', { model_request_start_id: cut, is_error: true });
    log.idle({ type: 'end_turn' });
    log.add('system.message', { content: [{ type: 'text', text: 'be brief' }] });
    log.user('two');
    return log;
  }

  it('folding a log in two parts, split anywhere, equals folding it whole; events already folded are skipped', () => {
    const log = everything();
    const whole = log.state();
    expect(whole.messages.length).toBeGreaterThan(4);
    for (let k = 0; k <= log.events.length; k++) {
      const fold = new SessionFold();
      fold.apply(log.events.slice(0, k), log.records);
      fold.state();
      fold.apply(log.events.slice(Math.max(0, k - 3)), log.records); // a page read again overlaps
      expect(fold.state(), `split after event ${k}`).toEqual(whole);
    }
  });

  it('names the records a batch of events needs: the turn of each ended request, the summary of each compaction', () => {
    const log = new Log();
    log.user('a');
    const { start } = log.request([say('x')]);
    const compacted = log.add('agent.thread_context_compacted');
    expect(SessionFold.recordKeys(log.events)).toEqual([recordKey.turn(start), recordKey.summary(compacted)]);
    expect(SessionFold.recordKeys(log.events.slice(0, 2))).toEqual([]);
  });
});
