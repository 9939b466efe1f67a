import { accumulateManagedAgentsEvent } from '@anthropic-ai/sdk/lib/sessions/accumulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, harness, idles, newSession, say, types, waitFor, waitForIdle, type Ev, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({ PADDOCK_COMPACTION_THRESHOLD_TOKENS: '5000' });
});
afterAll(async () => {
  await h?.close();
});

const interrupt = (sid: string) => h.client.beta.sessions.events.send(sid, { events: [{ type: 'user.interrupt' }] });

describe('interrupts', () => {
  it('aborts the model request mid-stream, closes the span, leaves the session idle, and keeps later input queued', async () => {
    const sid = await newSession(h);
    h.model.enqueue({ content: [{ type: 'text', text: 'a very long answer that never ends' }], hang: true });
    await say(h.client, sid, 'talk forever');
    await waitFor(h.client, sid, (l) => l.some((e) => e.type === 'span.model_request_start'));
    await h.model.waitForRequests(h.model.requests.length);
    await say(h.client, sid, 'queued before the interrupt');
    await interrupt(sid);
    const log = await waitForIdle(h.client, sid);
    const start = log.find((e) => e.type === 'span.model_request_start')!;
    expect(log.find((e) => e.type === 'span.model_request_end')).toMatchObject({ model_request_start_id: start.id, is_error: true });
    expect(log.some((e) => e.type === 'agent.message')).toBe(false);
    expect(idles(log)[0].stop_reason).toEqual({ type: 'end_turn' });
    expect((await h.client.beta.sessions.retrieve(sid)).status).toBe('idle');

    // Nothing runs on its own after the interrupt; the next message carries the queued one along.
    h.model.enqueue({ content: [{ type: 'text', text: 'ok' }] });
    const before = h.model.requests.length;
    await say(h.client, sid, 'now do something else');
    await waitForIdle(h.client, sid, 2);
    expect(h.model.requests.length).toBe(before + 1);
    const texts = h.model.requests[before].body.messages.flatMap((m: any) => m.content.filter((b: any) => b.type === 'text').map((b: any) => b.text));
    expect(texts).toEqual(['talk forever', 'queued before the interrupt', 'now do something else']);
  });

  it('an interrupt while waiting on a custom tool leaves the call answered as interrupted for the model', async () => {
    const sid = await newSession(h, { tools: [{ type: 'custom', name: 'ask_human', description: 'd', input_schema: { type: 'object' } }] });
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'ask_human', input: {} }] });
    await say(h.client, sid, 'ask');
    await waitForIdle(h.client, sid);
    await interrupt(sid);
    // The interrupt ends the turn: a second idle, end_turn (observable-rules.test.ts has the details).
    await waitForIdle(h.client, sid, 2);
    h.model.enqueue({ content: [{ type: 'text', text: 'fine' }] });
    const before = h.model.requests.length;
    await say(h.client, sid, 'never mind');
    await waitForIdle(h.client, sid, 3);
    const last = h.model.requests[before].body.messages.at(-1).content;
    expect(last[0]).toMatchObject({ type: 'tool_result', is_error: true });
    expect(last[1]).toMatchObject({ type: 'text', text: 'never mind' });
  });
});

describe('model errors', () => {
  it('429 / 529 / 500 are retried with session.status_rescheduled, then succeed', async () => {
    const sid = await newSession(h);
    h.model.enqueue({ status: 429 }, { status: 529 }, { content: [{ type: 'text', text: 'finally' }] });
    await say(h.client, sid, 'hi');
    const log = await waitForIdle(h.client, sid);
    const errs = log.filter((e) => e.type === 'session.error');
    expect(errs.map((e) => e.error.type)).toEqual(['model_rate_limited_error', 'model_overloaded_error']);
    expect(errs.every((e) => e.error.retry_status.type === 'retrying')).toBe(true);
    expect(types(log).filter((t) => t === 'session.status_rescheduled')).toHaveLength(2);
    expect((log.find((e) => e.type === 'agent.message')!.content[0] as any).text).toBe('finally');
    expect(idles(log)[0].stop_reason).toEqual({ type: 'end_turn' });
  });

  it('gives up after the retries: session.error exhausted and idle retries_exhausted', async () => {
    const sid = await newSession(h);
    h.model.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    await say(h.client, sid, 'hi');
    const log = await waitForIdle(h.client, sid);
    const errs = log.filter((e) => e.type === 'session.error');
    expect(errs.map((e) => e.error.retry_status.type)).toEqual(['retrying', 'retrying', 'exhausted']);
    expect(idles(log)[0]).toMatchObject({ stop_reason: { type: 'retries_exhausted' }, stop_details: null });
    expect(log.filter((e) => e.type === 'span.model_request_end').every((e) => e.is_error)).toBe(true);
  });

  it('after retries_exhausted the session goes idle once: no second status_idle, and the next message starts a new turn', async () => {
    const sid = await newSession(h);
    h.model.enqueue({ status: 529 }, { status: 529 }, { status: 529 });
    await say(h.client, sid, 'hi');
    await waitForIdle(h.client, sid);
    // The runner folds the idle before deciding what is owed next, and writes the turn's active
    // time when it does: once that shows, a second idle would already be on its way.
    await waitForActiveTime(sid);
    h.model.enqueue({ content: [{ type: 'text', text: 'back again' }] });
    await say(h.client, sid, 'try again');
    const log = await waitFor(h.client, sid, (l) => l.some((e) => e.type === 'agent.message') && l.at(-1)!.type === 'session.status_idle');
    expect(idles(log).map((e) => e.stop_reason.type)).toEqual(['retries_exhausted', 'end_turn']);
    const exhausted = log.findIndex((e) => e.type === 'session.status_idle');
    expect(log[exhausted + 1]).toMatchObject({ type: 'user.message', content: [{ type: 'text', text: 'try again' }] });
  });

  it('a 4xx from the model is a clear session.error; the session stays idle and usable', async () => {
    const sid = await newSession(h);
    h.model.enqueue({ status: 400, errorMessage: 'model: unknown model' });
    await say(h.client, sid, 'hi');
    let log = await waitForIdle(h.client, sid);
    const err = log.find((e) => e.type === 'session.error')!;
    expect(err.error).toMatchObject({ type: 'model_request_failed_error', retry_status: { type: 'terminal' } });
    expect(err.error.message).toContain('unknown model');
    expect(idles(log)[0].stop_reason).toEqual({ type: 'end_turn' });
    h.model.enqueue({ content: [{ type: 'text', text: 'recovered' }] });
    await say(h.client, sid, 'again');
    log = await waitForIdle(h.client, sid, 2);
    expect(log.at(-3)).toMatchObject({ type: 'agent.message', content: [{ type: 'text', text: 'recovered' }] });
  });
});

describe('live previews', () => {
  it("event_deltas previews build the final agent.message with the SDK's accumulator; never persisted", async () => {
    const sid = await newSession(h);
    const stream = await h.client.beta.sessions.events.stream(sid, { event_deltas: ['agent.message', 'agent.thinking'] });
    const text = 'The quick brown fox jumps over the lazy dog, twice over.';
    h.model.enqueue({
      content: [
        { type: 'thinking', thinking: 'hmm' },
        { type: 'text', text },
        { type: 'text', text: 'Second block.' },
      ],
      chunkDelayMs: 5,
    });
    await say(h.client, sid, 'tell me');
    const seen: Ev[] = [];
    let acc: any;
    let previewed: any;
    for await (const e of stream as AsyncIterable<any>) {
      seen.push(e);
      if ((e.type === 'event_start' && e.event.type === 'agent.message') || e.type === 'event_delta') {
        acc = accumulateManagedAgentsEvent(acc, e);
        previewed = acc;
      }
      if (e.type === 'agent.message') acc = accumulateManagedAgentsEvent(acc, e);
      if (e.type === 'session.status_idle') break;
    }
    const order: string[] = seen.map((e) => e.type).filter((t) => t !== 'user.message');
    expect(order[0]).toBe('session.status_running');
    expect(order[1]).toBe('span.model_request_start');
    expect(order.indexOf('event_start')).toBeGreaterThan(1);
    expect(order.lastIndexOf('event_delta')).toBeLessThan(order.indexOf('agent.message'));
    expect(order.indexOf('agent.message')).toBeLessThan(order.indexOf('span.model_request_end'));
    const msg = seen.find((e) => e.type === 'agent.message')!;
    const thinkingStart = seen.find((e: any) => e.type === 'event_start' && e.event.type === 'agent.thinking') as any;
    expect(thinkingStart.event.id).toBe(seen.find((e) => e.type === 'agent.thinking')!.id);
    expect(seen.some((e: any) => e.type === 'event_delta' && e.event_id === thinkingStart.event.id)).toBe(false);
    expect(previewed.id).toBe(msg.id);
    expect(previewed.content).toEqual([
      { type: 'text', text },
      { type: 'text', text: 'Second block.' },
    ]);
    expect(acc).toEqual(msg);
    const log = await events(h.client, sid);
    expect(log.some((e: any) => e.type === 'event_start' || e.type === 'event_delta')).toBe(false);
  });
});

describe('context compaction', () => {
  it('compacts near the threshold: one agent.thread_context_compacted, the model continues from the summary', async () => {
    const sid = await newSession(h);
    h.model.enqueue({ content: [{ type: 'text', text: 'long answer' }], usage: { input_tokens: 6000 } });
    await say(h.client, sid, 'first question');
    await waitForIdle(h.client, sid);
    const before = h.model.requests.length;
    h.model.enqueue({ content: [{ type: 'text', text: 'SUMMARY: user asked a first question.' }] }, { content: [{ type: 'text', text: 'continuing' }] });
    await say(h.client, sid, 'second question');
    const log = await waitForIdle(h.client, sid, 2);
    expect(types(log).filter((t) => t === 'agent.thread_context_compacted')).toHaveLength(1);
    const compacted = log.find((e) => e.type === 'agent.thread_context_compacted')!;
    expect(compacted.pre_compaction_tokens).toBe(6000);
    const [summaryReq, nextReq] = h.model.requests.slice(before).map((r) => r.body);
    expect(summaryReq.stream).toBeFalsy();
    expect(JSON.stringify(summaryReq.messages)).toContain('first question');
    expect(nextReq.messages[0].content[0].text).toContain('SUMMARY: user asked a first question.');
    expect(nextReq.messages.at(-1).content.at(-1).text).toBe('second question');
    expect(log.at(-3)).toMatchObject({ type: 'agent.message', content: [{ type: 'text', text: 'continuing' }] });
    // The log itself is untouched by compaction.
    expect(log.filter((e) => e.type === 'user.message')).toHaveLength(2);
  });
});

/** Waits until the session shows active time: the runner has folded its latest status change. */
async function waitForActiveTime(sid: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await h.client.beta.sessions.retrieve(sid)).stats.active_seconds === 0) {
    if (Date.now() > deadline) throw new Error(`session ${sid} shows no active time`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
