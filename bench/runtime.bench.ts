import type Anthropic from '@anthropic-ai/sdk';
import { quantile, userMessage } from './measure.js';
import { startPaddock, type PaddockProcess } from '../test/support/paddock.js';
import { startScriptedModel, type ScriptedModel } from '../test/support/scripted-model.js';

/**
 * Runtime benchmarks against a real Paddock process and a scripted (instant or slow) model:
 * - turn overhead: user.message sent → session.status_idle seen on the stream, p50 / p99, over
 *   TURNS sequential turns of one session; the p50 of its first and of its last WINDOW turns shows
 *   whether a step's cost grows with the length of the log (it should not);
 * - events logged per second during those turns (each turn logs six events);
 * - concurrency: how many sessions one node runs at once (each a turn on a slow model) with
 *   every turn ending in end_turn and no error.
 */

const TURNS = 400;
const WINDOW = 20;
const EVENTS_PER_TURN = 6; // user.message, running, span start, agent.message, span end, idle
const CONCURRENCY_STEPS = [50, 100, 200, 400, 800];
const SLOW_MODEL_MS = 1500;

async function setup(model: ScriptedModel): Promise<{ p: PaddockProcess; client: Anthropic; agentId: string; envId: string }> {
  const p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url } });
  const client = p.client;
  const envId = (await client.beta.environments.create({ name: 'bench' })).id;
  const agentId = (await client.beta.agents.create({ name: 'bench', model: 'claude-sonnet-4-6' })).id;
  return { p, client, agentId, envId };
}

/** Turn latencies in the order the turns ran. */
async function turnOverhead(client: Anthropic, agentId: string, envId: string): Promise<number[]> {
  const sid = (await client.beta.sessions.create({ agent: agentId, environment_id: envId })).id;
  const stream = await client.beta.sessions.events.stream(sid);
  const it = (stream as AsyncIterable<{ type: string }>)[Symbol.asyncIterator]();
  const samples: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    const t0 = performance.now();
    await client.beta.sessions.events.send(sid, userMessage(`turn ${i}`));
    for (;;) {
      const { value, done } = await it.next();
      if (done) throw new Error('stream ended');
      if (value.type === 'session.status_idle') break;
    }
    samples.push(performance.now() - t0);
  }
  await it.return?.();
  return samples;
}

/** Runs `n` sessions' turns at once; true when every one ended in end_turn without a session.error. */
async function sustains(client: Anthropic, agentId: string, envId: string, n: number): Promise<boolean> {
  const sids = await Promise.all(Array.from({ length: n }, () => client.beta.sessions.create({ agent: agentId, environment_id: envId }).then((s) => s.id)));
  await Promise.all(sids.map((sid) => client.beta.sessions.events.send(sid, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] })));
  const deadline = Date.now() + 60_000 + n * 50;
  const pending = new Set(sids);
  while (pending.size && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    for await (const s of client.beta.sessions.list({ statuses: ['idle'], limit: 100 })) pending.delete(s.id);
  }
  if (pending.size) return false;
  for (const sid of sids) {
    const log: Array<{ type: string; stop_reason?: { type: string } }> = [];
    for await (const e of client.beta.sessions.events.list(sid)) log.push(e as any);
    if (log.some((e) => e.type === 'session.error')) return false;
    if (log.at(-1)?.stop_reason?.type !== 'end_turn') return false;
  }
  return true;
}

export default {
  name: 'runtime',
  async run(): Promise<Array<{ metric: string; value: number; unit: string }>> {
    const model = await startScriptedModel();
    try {
      const fast = await setup(model);
      let samples: number[];
      try {
        samples = await turnOverhead(fast.client, fast.agentId, fast.envId);
      } finally {
        await fast.p.stop();
      }
      model.setFallback({ content: [{ type: 'text', text: 'slow answer' }], delayMs: SLOW_MODEL_MS });
      const slow = await setup(model);
      let sustained = 0;
      try {
        for (const n of CONCURRENCY_STEPS) {
          if (!(await sustains(slow.client, slow.agentId, slow.envId, n))) break;
          sustained = n;
        }
      } finally {
        await slow.p.stop();
      }
      const ms = (v: number) => +v.toFixed(2);
      const total = samples.reduce((a, b) => a + b, 0);
      return [
        { metric: `turn overhead p50 (user.message → status_idle, instant model, ${TURNS} turns)`, value: ms(quantile(samples, 0.5)), unit: 'ms' },
        { metric: 'turn overhead p99', value: ms(quantile(samples, 0.99)), unit: 'ms' },
        { metric: `turn overhead p50, first ${WINDOW} turns`, value: ms(quantile(samples.slice(0, WINDOW), 0.5)), unit: 'ms' },
        {
          metric: `turn overhead p50, last ${WINDOW} turns (log ≈ ${EVENTS_PER_TURN * TURNS} events)`,
          value: ms(quantile(samples.slice(-WINDOW), 0.5)),
          unit: 'ms',
        },
        { metric: 'events logged during sequential turns', value: +((EVENTS_PER_TURN * TURNS) / (total / 1000)).toFixed(1), unit: 'events/s' },
        {
          metric: `concurrent running sessions sustained (model ${SLOW_MODEL_MS} ms/turn, steps ${CONCURRENCY_STEPS.join('/')})`,
          value: sustained,
          unit: 'sessions',
        },
      ];
    } finally {
      await model.close();
    }
  },
};
