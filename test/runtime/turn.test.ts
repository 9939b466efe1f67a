import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, harness, idles, newSession, say, TEXT_TURN, types, waitFor, waitForIdle, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.close();
});

describe('the turn loop', () => {
  it('runs a turn: running → model request span → agent.message → idle end_turn, in order', async () => {
    const sid = await newSession(h);
    h.model.enqueue({
      content: [{ type: 'text', text: 'Hello there, human.' }],
      usage: { input_tokens: 120, output_tokens: 7, cache_read_input_tokens: 30, cache_creation_input_tokens: 4 },
    });
    const sent = await say(h.client, sid, 'hi');
    const log = await waitForIdle(h.client, sid);
    expect(types(log)).toEqual(TEXT_TURN);
    expect(log[0].id).toBe(sent.data![0].id);
    expect(log[3].content).toEqual([{ type: 'text', text: 'Hello there, human.' }]);
    expect(log[4]).toMatchObject({
      model_request_start_id: log[2].id,
      is_error: false,
      model_usage: { input_tokens: 120, output_tokens: 7, cache_read_input_tokens: 30, cache_creation_input_tokens: 4 },
    });
    expect(log[5]).toMatchObject({ stop_reason: { type: 'end_turn' }, stop_details: null });
    expect(new Set(log.map((e) => e.id)).size).toBe(log.length);

    const s = await h.client.beta.sessions.retrieve(sid);
    expect(s.status).toBe('idle');
    expect(s.usage).toMatchObject({ input_tokens: 120, output_tokens: 7, cache_read_input_tokens: 30 });
    expect(s.usage.cache_creation?.ephemeral_5m_input_tokens).toBe(4);
    expect(s.stats.active_seconds).toBeGreaterThanOrEqual(0);

    // What the model saw: the agent's model and system prompt (cached), the user's words.
    const req = h.model.requests.at(-1)!.body;
    expect(req.model).toBe('claude-sonnet-4-6');
    expect(req.stream).toBe(true);
    expect(req.system).toEqual([{ type: 'text', text: 'You are a test agent.', cache_control: { type: 'ephemeral' } }]);
    expect(req.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] }]);
    expect(req.thinking).toEqual({ type: 'adaptive' });
    const { authorization, 'x-api-key': apiKey } = h.model.requests.at(-1)!.headers;
    expect(apiKey ?? authorization).toMatch(/sk-ant-test-model-key$/);
  });

  it('logs thinking as agent.thinking and sends it back (with its signature) on the next request', async () => {
    const sid = await newSession(h);
    h.model.enqueue({
      content: [
        { type: 'thinking', thinking: 'Let me think about it.', signature: 'sig-abc' },
        { type: 'text', text: 'Answer one.' },
      ],
    });
    await say(h.client, sid, 'first');
    let log = await waitForIdle(h.client, sid);
    expect(types(log).slice(2, 6)).toEqual(['span.model_request_start', 'agent.thinking', 'agent.message', 'span.model_request_end']);
    expect(Object.keys(log[3]).sort()).toEqual(['id', 'processed_at', 'type']);

    h.model.enqueue({ content: [{ type: 'text', text: 'Answer two.' }] });
    const before = h.model.requests.length;
    await say(h.client, sid, 'second');
    log = await waitForIdle(h.client, sid, 2);
    const req = h.model.requests[before].body;
    expect(req.messages).toHaveLength(3);
    expect(req.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Let me think about it.', signature: 'sig-abc' },
        { type: 'text', text: 'Answer one.' },
      ],
    });
    expect(req.messages[2].content).toEqual([{ type: 'text', text: 'second', cache_control: { type: 'ephemeral' } }]);
    expect(idles(log)).toHaveLength(2);
  });

  it('queues messages sent while running and processes them in order, none lost', async () => {
    const sid = await newSession(h);
    h.model.enqueue({ content: [{ type: 'text', text: 'slow reply to one' }], chunkDelayMs: 60 });
    await say(h.client, sid, 'one');
    await h.model.waitForRequests(h.model.requests.length + 1);
    const before = h.model.requests.length;
    await say(h.client, sid, 'two');
    await say(h.client, sid, 'three');
    const log = await waitFor(
      h.client,
      sid,
      (l) => l.filter((e) => e.type === 'span.model_request_end').length >= 2 && l.at(-1)!.type === 'session.status_idle',
    );
    const next = h.model.requests[before].body;
    const lastUser = next.messages.at(-1);
    expect(lastUser.role).toBe('user');
    expect(lastUser.content.map((b: any) => b.text)).toEqual(['two', 'three']);
    expect(next.messages[0].content.map((b: any) => b.text)).toEqual(['one']);
    // One running phase: the queued input continued the same turn.
    expect(types(log).filter((t) => t === 'session.status_running')).toHaveLength(1);
    expect(idles(log)).toHaveLength(1);
  });

  it('appends system.message text to the system prompt for the requests that follow', async () => {
    const sid = await newSession(h);
    await h.client.beta.sessions.events.send(sid, {
      events: [
        { type: 'user.message', content: [{ type: 'text', text: 'what time zone?' }] },
        { type: 'system.message', content: [{ type: 'text', text: 'The user is in Europe/Paris.' }] },
      ],
    });
    const before = h.model.requests.length;
    await waitForIdle(h.client, sid);
    const req = h.model.requests.slice(before).at(-1)!.body;
    expect(req.system.map((b: any) => b.text)).toEqual(['You are a test agent.', 'The user is in Europe/Paris.']);
    expect((await events(h.client, sid)).map((e) => e.type)).toContain('system.message');
  });
});
