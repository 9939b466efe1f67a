import { APIError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, harness, idles, newSession, say, TEXT_TURN, types, waitFor, waitForIdle, type Ev, type Harness } from './harness.js';

/** Rules of docs/runtime.md that a client can observe, each through the official SDK. */
let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.close();
});

const askHuman = { type: 'custom', name: 'ask_human', description: 'Ask the human', input_schema: { type: 'object' } };
const toolset = (policy: string) => ({ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: policy } } });
const send = (sid: string, evs: any[]) => h.client.beta.sessions.events.send(sid, { events: evs });
const systemMessage = (text: string) => ({ type: 'system.message', content: [{ type: 'text', text }] });
const userMessage = (text: string) => ({ type: 'user.message', content: [{ type: 'text', text }] });

async function rejection(p: Promise<unknown>): Promise<APIError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(APIError);
  return err as APIError;
}

describe('system.message', () => {
  it('is rejected with a 400 while the session is idle with requires_action, and accepted once the wait is answered', async () => {
    const sid = await newSession(h, { tools: [askHuman] });
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'ask_human', input: {} }] });
    await say(h.client, sid, 'ask');
    let log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.custom_tool_use')!;
    expect(idles(log)[0].stop_reason.type).toBe('requires_action');

    const err = await rejection(send(sid, [userMessage('also'), systemMessage('Be brief.')]));
    expect(err.status).toBe(400);
    expect((err.error as any).error).toMatchObject({ type: 'invalid_request_error' });
    expect((err.error as any).error.message).toMatch(/system\.message.*requires_action/);
    // Nothing of the rejected request was logged.
    expect(types(await events(h.client, sid))).toEqual(types(log));

    h.model.enqueue({ content: [{ type: 'text', text: 'thanks' }] });
    await send(sid, [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'yes' }] }]);
    log = await waitFor(h.client, sid, (l) => idles(l).at(-1)?.stop_reason.type === 'end_turn');
    h.model.enqueue({ content: [{ type: 'text', text: 'brief' }] });
    const before = h.model.requests.length;
    await send(sid, [userMessage('again'), systemMessage('Be brief.')]);
    await waitForIdle(h.client, sid, idles(log).length + 1);
    expect(h.model.requests[before].body.system.map((b: any) => b.text)).toContain('Be brief.');
  });
});

describe('an interrupt while the session waits on the client', () => {
  it('cancels the pending custom tool call: idle end_turn; a later result for it is accepted and has no effect', async () => {
    const sid = await newSession(h, { tools: [askHuman] });
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'ask_human', input: {} }] });
    await say(h.client, sid, 'ask');
    await waitForIdle(h.client, sid);
    const requests = h.model.requests.length;
    await send(sid, [{ type: 'user.interrupt' }]);
    let log = await waitForIdle(h.client, sid, 2);
    const use = log.find((e) => e.type === 'agent.custom_tool_use')!;
    expect(idles(log).map((e) => e.stop_reason)).toEqual([{ type: 'requires_action', event_ids: [use.id] }, { type: 'end_turn' }]);
    expect(types(log).slice(-2)).toEqual(['user.interrupt', 'session.status_idle']);

    // The late answer is logged (200) but starts nothing: no model request, no status change.
    const late = await send(sid, [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: 'too late' }] }]);
    expect(late.data![0]).toMatchObject({ type: 'user.custom_tool_result', custom_tool_use_id: use.id });
    // A following message is processed normally; once it is, the late result is known to have been skipped.
    h.model.enqueue({ content: [{ type: 'text', text: 'moving on' }] });
    await say(h.client, sid, 'next');
    log = await waitForIdle(h.client, sid, 3);
    expect(h.model.requests.length).toBe(requests + 1);
    expect(types(log).slice(-7)).toEqual(['user.custom_tool_result', ...TEXT_TURN]);
    // The model sees the call answered once, as interrupted; the late content never reaches it.
    const results = h.model.requests.at(-1)!.body.messages.flatMap((m: any) => m.content.filter((b: any) => b.type === 'tool_result'));
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(JSON.stringify(results[0])).not.toContain('too late');
  });

  it('cancels a pending tool confirmation: idle end_turn; a later confirmation runs nothing', async () => {
    const sid = await newSession(h, { tools: [toolset('always_ask')] });
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] });
    await say(h.client, sid, 'run it');
    let log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    await send(sid, [{ type: 'user.interrupt' }]);
    log = await waitForIdle(h.client, sid, 2);
    expect(idles(log)[1].stop_reason).toEqual({ type: 'end_turn' });

    const requests = h.model.requests.length;
    await send(sid, [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }]);
    h.model.enqueue({ content: [{ type: 'text', text: 'ok' }] });
    await say(h.client, sid, 'next');
    log = await waitForIdle(h.client, sid, 3);
    expect(h.model.requests.length).toBe(requests + 1);
    expect(log.some((e) => e.type === 'agent.tool_result')).toBe(false);
  });
});

describe('permission evaluation on agent.tool_use', () => {
  it('auto is evaluated as allow and says so: evaluation {type: auto, evaluated_permission: {type: allow}}; the tool runs', async () => {
    const sid = await newSession(h, { tools: [toolset('auto')] });
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] }, { content: [{ type: 'text', text: 'ran' }] });
    await say(h.client, sid, 'run it');
    const log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    expect(use).toMatchObject({ evaluated_permission: 'allow', evaluation: { type: 'auto', evaluated_permission: { type: 'allow' } } });
    expect(log.find((e) => e.type === 'agent.tool_result')).toMatchObject({ tool_use_id: use.id });
    expect(idles(log)).toHaveLength(1);
  });

  it('a tool the agent does not have is refused before any policy: evaluated_permission deny, no evaluation, an is_error result', async () => {
    const sid = await newSession(h, { tools: [askHuman] });
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'launch_rockets', input: {} }] }, { content: [{ type: 'text', text: 'sorry' }] });
    await say(h.client, sid, 'go');
    const log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    expect(use).toMatchObject({ name: 'launch_rockets', evaluated_permission: 'deny' });
    expect(use.evaluation).toBeUndefined();
    const result = log.find((e) => e.type === 'agent.tool_result')!;
    expect(result).toMatchObject({ tool_use_id: use.id, is_error: true });
    expect(JSON.stringify(result.content)).toContain('launch_rockets');
    expect(idles(log)[0].stop_reason).toEqual({ type: 'end_turn' });
  });
});

describe('processed_at of client events', () => {
  it('the send echo, the history and the stream carry the same non-null processed_at; the stream delivers each event once', async () => {
    const sid = await newSession(h);
    const stream = await h.client.beta.sessions.events.stream(sid);
    const streamed: Ev[] = [];
    const reading = (async () => {
      for await (const e of stream as AsyncIterable<Ev>) streamed.push(e);
    })().catch(() => {});
    h.model.enqueue({ content: [{ type: 'text', text: 'slow' }], chunkDelayMs: 30 });
    const first = await say(h.client, sid, 'one');
    // Sent while the first is being answered: queued, yet stamped when it entered the log.
    const queued = await say(h.client, sid, 'two');
    const log = await waitFor(h.client, sid, (l) => l.at(-1)?.type === 'session.status_idle' && l.some((e) => e.id === queued.data![0].id));
    await waitFor(h.client, sid, () => streamed.some((e) => e.id === log.at(-1)!.id));
    stream.controller.abort();
    await reading;
    for (const echo of [...first.data!, ...queued.data!]) {
      expect(typeof echo.processed_at).toBe('string');
      expect(log.find((e) => e.id === echo.id)).toEqual(echo);
      const seen = streamed.filter((e) => e.id === echo.id);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toEqual(echo);
    }
    expect(new Set(streamed.map((e) => e.id)).size).toBe(streamed.length);
  });
});
