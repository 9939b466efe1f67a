import { startPaddock } from '../test/support/paddock.js';
import { startScriptedModel } from '../test/support/scripted-model.js';
import { harness, textOf } from '../test/sandbox/harness.js';

/**
 * Sandbox benchmarks:
 * - cold start: session created → first bash result in the log (instant scripted model), through
 *   a real Paddock process and the SDK, p50 / p99;
 * - bash round trip: `true` in a warm sandbox, executor call to result (the sandbox's overhead).
 */

const COLD = 30;
const WARM = 300;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 10) / 10;
}

async function coldStarts(): Promise<number[]> {
  const model = await startScriptedModel();
  const p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url } });
  try {
    const env = await p.client.beta.environments.create({ name: `bench-${Date.now()}` });
    const agent = await p.client.beta.agents.create({ name: 'bench', model: 'claude-sonnet-4-6', tools: [{ type: 'agent_toolset_20260401' }] } as any);
    const out: number[] = [];
    for (let i = 0; i < COLD; i++) {
      model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi' } }] }, { content: [{ type: 'text', text: 'ok' }] });
      const t0 = performance.now();
      const s = await p.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
      // Attach first: the stream does not replay what happened before.
      const stream = await p.client.beta.sessions.events.stream(s.id);
      await p.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
      for await (const e of stream as AsyncIterable<any>) {
        if (e.type === 'agent.tool_result') break;
      }
      out.push(performance.now() - t0);
      await p.client.beta.sessions.delete(s.id).catch(() => {});
    }
    return out;
  } finally {
    await p.stop();
    await model.close();
  }
}

export default {
  name: 'sandbox',
  async run() {
    const h = harness();
    const warm: number[] = [];
    try {
      await h.run('sesn_bench', 'bash', { command: 'true' });
      for (let i = 0; i < WARM; i++) {
        const t0 = performance.now();
        const r = await h.run('sesn_bench', 'bash', { command: 'true' });
        warm.push(performance.now() - t0);
        if (r.is_error) throw new Error(textOf(r));
      }
      const direct: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await h.run(`sesn_cold_${i}`, 'bash', { command: 'echo hi' });
        direct.push(performance.now() - t0);
      }
      const cold = await coldStarts();
      return [
        { metric: 'cold start: session create → first bash result (SDK, instant model) p50', value: pct(cold, 50), unit: 'ms' },
        { metric: 'cold start: session create → first bash result (SDK, instant model) p99', value: pct(cold, 99), unit: 'ms' },
        { metric: 'sandbox start + first bash (executor only) p50', value: pct(direct, 50), unit: 'ms' },
        { metric: 'bash round trip (`true`, warm sandbox) p50', value: pct(warm, 50), unit: 'ms' },
        { metric: 'bash round trip (`true`, warm sandbox) p99', value: pct(warm, 99), unit: 'ms' },
      ];
    } finally {
      await h.close();
    }
  },
};
