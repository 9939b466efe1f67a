import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, harness, idles, newSession, say, types, waitFor, waitForIdle, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.close();
});

const weather = {
  type: 'custom',
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const toolResultIn = (body: any) => body.messages.at(-1).content.find((b: any) => b.type === 'tool_result');

describe('custom tools', () => {
  it('agent.custom_tool_use → idle requires_action → user.custom_tool_result resumes; a duplicate result has no second effect', async () => {
    const sid = await newSession(h, { tools: [weather] });
    h.model.enqueue({
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } },
      ],
    });
    await say(h.client, sid, 'weather in Oslo?');
    let log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.custom_tool_use')!;
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Oslo' } });
    expect(idles(log)[0]).toMatchObject({ stop_reason: { type: 'requires_action', event_ids: [use.id] }, stop_details: null });
    // The model was offered the tool.
    expect(h.model.requests.at(-1)!.body.tools).toEqual([{ name: 'get_weather', description: 'Weather for a city', input_schema: weather.input_schema }]);

    h.model.enqueue({ content: [{ type: 'text', text: 'It is sunny in Oslo.' }] });
    const before = h.model.requests.length;
    const result = { type: 'user.custom_tool_result' as const, custom_tool_use_id: use.id, content: [{ type: 'text' as const, text: 'sunny, 21C' }] };
    await h.client.beta.sessions.events.send(sid, { events: [result] });
    log = await waitForIdle(h.client, sid, 2);
    expect(idles(log)[1].stop_reason).toEqual({ type: 'end_turn' });
    const sent = h.model.requests[before].body;
    expect(sent.messages.at(-2).content.find((b: any) => b.type === 'tool_use')).toMatchObject({ id: use.id, name: 'get_weather' });
    expect(toolResultIn(sent)).toMatchObject({ tool_use_id: use.id, content: [{ type: 'text', text: 'sunny, 21C' }] });

    const dup = await h.client.beta.sessions.events.send(sid, { events: [result] });
    expect(dup.data![0].type).toBe('user.custom_tool_result');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.model.requests.length).toBe(before + 1);
    expect(idles(await events(h.client, sid))).toHaveLength(2);
  });

  it('with two custom calls, answering one re-emits idle with the remainder', async () => {
    const sid = await newSession(h, { tools: [weather] });
    h.model.enqueue({
      content: [
        { type: 'tool_use', name: 'get_weather', input: { city: 'A' } },
        { type: 'tool_use', name: 'get_weather', input: { city: 'B' } },
      ],
    });
    await say(h.client, sid, 'two cities');
    let log = await waitForIdle(h.client, sid);
    const [a, b] = log.filter((e) => e.type === 'agent.custom_tool_use');
    expect(idles(log)[0].stop_reason).toEqual({ type: 'requires_action', event_ids: [a.id, b.id] });
    await h.client.beta.sessions.events.send(sid, {
      events: [{ type: 'user.custom_tool_result', custom_tool_use_id: a.id, content: [{ type: 'text', text: 'A ok' }] }],
    });
    log = await waitForIdle(h.client, sid, 2);
    expect(idles(log)[1].stop_reason).toEqual({ type: 'requires_action', event_ids: [b.id] });
    await h.client.beta.sessions.events.send(sid, {
      events: [{ type: 'user.custom_tool_result', custom_tool_use_id: b.id, content: [{ type: 'text', text: 'B ok' }] }],
    });
    log = await waitForIdle(h.client, sid, 3);
    expect(idles(log)[2].stop_reason).toEqual({ type: 'end_turn' });
    const results = h.model.requests
      .at(-1)!
      .body.messages.at(-1)
      .content.filter((x: any) => x.type === 'tool_result');
    expect(results.map((r: any) => r.tool_use_id)).toEqual([a.id, b.id]);
  });

  it("the SDK's session tool runner answers custom tools against Paddock", async () => {
    const sid = await newSession(h, { tools: [weather] });
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'get_weather', input: { city: 'Lima' } }] }, { content: [{ type: 'text', text: 'Lima is warm.' }] });
    const abort = new AbortController();
    const runner = h.client.beta.sessions.events.toolRunner(sid, {
      tools: [
        {
          type: 'custom',
          name: 'get_weather',
          description: 'Weather for a city',
          input_schema: weather.input_schema,
          run: async (input: any) => `warm in ${input.city}`,
          parse: (x: unknown) => x,
        } as any,
      ],
      maxIdleMs: 500,
      signal: abort.signal,
    });
    const calls: any[] = [];
    const done = (async () => {
      for await (const call of runner) calls.push(call);
    })();
    await say(h.client, sid, 'weather in Lima?');
    const log = await waitFor(h.client, sid, (l) => idles(l).some((e) => e.stop_reason.type === 'end_turn'));
    await done;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ name: 'get_weather', posted: true, isError: false });
    const result = log.find((e) => e.type === 'user.custom_tool_result')!;
    expect(result.custom_tool_use_id).toBe(log.find((e) => e.type === 'agent.custom_tool_use')!.id);
    expect(toolResultIn(h.model.requests.at(-1)!.body).content[0].text).toContain('warm in Lima');
  });
});

describe('built-in tools and permission policies', () => {
  const toolset = (policy: string) => ({ tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: policy } } }] });

  it('always_allow runs the tool through the executor and continues the turn with its result', async () => {
    const sid = await newSession(h, toolset('always_allow'));
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'ls' } }] }, { content: [{ type: 'text', text: 'No shell here.' }] });
    await say(h.client, sid, 'run ls');
    const log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    expect(use).toMatchObject({ name: 'bash', input: { command: 'ls' }, evaluated_permission: 'allow' });
    // Whatever the configured executor answered is logged and handed to the model as the result.
    const result = log.find((e) => e.type === 'agent.tool_result')!;
    expect(result.tool_use_id).toBe(use.id);
    expect(toolResultIn(h.model.requests.at(-1)!.body)).toMatchObject({ tool_use_id: use.id, content: result.content });
    expect(idles(log)).toHaveLength(1);
    expect(idles(log)[0].stop_reason).toEqual({ type: 'end_turn' });
    expect(types(log).filter((t) => t === 'span.model_request_start')).toHaveLength(2);
  });

  it('always_ask waits for user.tool_confirmation; allow runs the tool', async () => {
    const sid = await newSession(h, toolset('always_ask'));
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'read', input: { file_path: '/etc/hostname' } }] }, { content: [{ type: 'text', text: 'done' }] });
    await say(h.client, sid, 'read it');
    let log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    expect(use).toMatchObject({ evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
    expect(idles(log)[0].stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
    expect(log.some((e) => e.type === 'agent.tool_result')).toBe(false);
    await h.client.beta.sessions.events.send(sid, { events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }] });
    log = await waitForIdle(h.client, sid, 2);
    expect(log.find((e) => e.type === 'agent.tool_result')).toMatchObject({ tool_use_id: use.id });
    expect(idles(log)[1].stop_reason).toEqual({ type: 'end_turn' });
  });

  it('always_ask deny delivers the deny_message to the model as an is_error result, without running the tool', async () => {
    const sid = await newSession(h, toolset('always_ask'));
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'rm -rf /' } }] }, { content: [{ type: 'text', text: 'ok, I will not' }] });
    await say(h.client, sid, 'clean up');
    let log = await waitForIdle(h.client, sid);
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    const before = h.model.requests.length;
    await h.client.beta.sessions.events.send(sid, {
      events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'deny', deny_message: 'Never delete the root.' }],
    });
    log = await waitForIdle(h.client, sid, 2);
    expect(log.find((e) => e.type === 'agent.tool_result')).toMatchObject({
      tool_use_id: use.id,
      is_error: true,
      content: [{ type: 'text', text: 'Never delete the root.' }],
    });
    expect(toolResultIn(h.model.requests[before].body)).toMatchObject({
      tool_use_id: use.id,
      is_error: true,
      content: [{ type: 'text', text: 'Never delete the root.' }],
    });
  });
});
