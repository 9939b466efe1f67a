import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/domain/event-log.js';
import { derive, SessionFold } from '../../src/runtime/derive.js';
import { events, harness, newSession, say, waitFor, waitForIdle, type Harness } from './harness.js';

/**
 * The runner keeps a session's fold in memory and applies only the events appended since; that
 * is only sound if folding a log in two parts always equals folding it whole. Checked here on a
 * real log with waits, confirmations, an interrupt and queued input, split at every point.
 */
let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.close();
});

describe('incremental fold', () => {
  it('folding a log in two parts, split anywhere, gives the same state as folding it whole', async () => {
    const sid = await newSession(h, {
      tools: [
        { type: 'custom', name: 'ask_human', description: 'd', input_schema: { type: 'object' } },
        { type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } },
      ],
    });
    const send = (evs: any[]) => h.client.beta.sessions.events.send(sid, { events: evs });
    h.model.enqueue({
      content: [
        { type: 'thinking', thinking: 'hm', signature: 's' },
        { type: 'text', text: 'asking' },
        { type: 'tool_use', name: 'ask_human', input: {} },
      ],
    });
    await say(h.client, sid, 'one');
    let log = await waitForIdle(h.client, sid);
    const custom = log.find((e) => e.type === 'agent.custom_tool_use')!;
    h.model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] });
    await send([{ type: 'user.custom_tool_result', custom_tool_use_id: custom.id, content: [{ type: 'text', text: 'yes' }] }]);
    log = await waitForIdle(h.client, sid, 2);
    const ask = log.find((e) => e.type === 'agent.tool_use')!;
    h.model.enqueue({ content: [{ type: 'text', text: 'deny noted' }] });
    await send([{ type: 'user.tool_confirmation', tool_use_id: ask.id, result: 'deny', deny_message: 'no' }]);
    await waitForIdle(h.client, sid, 3);
    h.model.enqueue({ content: [{ type: 'text', text: 'never finishes' }], hang: true });
    await say(h.client, sid, 'two');
    await waitFor(h.client, sid, (l) => l.filter((e) => e.type === 'span.model_request_start').length === 4);
    await say(h.client, sid, 'queued');
    await send([{ type: 'user.interrupt' }]);
    log = await waitForIdle(h.client, sid, 4);

    const stored: StoredEvent[] = log.map((event, i) => ({ seq: i + 1, event: event as StoredEvent['event'] }));
    const whole = derive(stored, new Map());
    expect(whole.messages.length).toBeGreaterThan(4);
    for (let k = 0; k <= stored.length; k++) {
      const fold = new SessionFold();
      fold.apply(stored.slice(0, k), new Map());
      fold.state(); // reading the state in between must not change what follows
      fold.apply(stored.slice(k), new Map());
      expect(fold.state(), `split after event ${k}`).toEqual(whole);
    }
    // Re-applying events already folded (a page read twice) changes nothing.
    const again = new SessionFold();
    again.apply(stored, new Map());
    again.apply(stored.slice(3), new Map());
    expect(again.state()).toEqual(whole);
    expect((await events(h.client, sid)).length).toBe(log.length);
  });
});
