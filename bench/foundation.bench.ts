import { startPaddock } from '../test/support/paddock.js';
import { deliveryLatency, median, quantile, rate, userMessage } from './measure.js';

/**
 * The foundation on SQLite, through HTTP against a real Paddock process: how fast sessions are
 * created, how fast client events are appended (POST /v1/sessions/{id}/events), and how long an
 * appended event takes to reach a stream subscriber. The runtime is running, but its model is
 * unreachable and it backs off for a minute after the first failure, so what is measured is the
 * HTTP + validation + SQLite append + fan-out path (turn costs are runtime.bench.ts's business).
 */

const ROUNDS = 3;
const CREATES_PER_ROUND = 300;
const POSTS_PER_ROUND = 600;
const CONCURRENCY = 8;
const LATENCY_SAMPLES = 300;

export default {
  name: 'foundation',
  async run() {
    const p = await startPaddock({ env: { PADDOCK_MODEL_RETRY_BASE_MS: '60000', PADDOCK_MODEL_RETRY_MAX_MS: '60000' } });
    try {
      const { client } = p;
      const envId = (await client.beta.environments.create({ name: 'bench' })).id;
      const agentId = (await client.beta.agents.create({ name: 'bench', model: 'claude-sonnet-4-6' })).id;
      const createSession = () => client.beta.sessions.create({ agent: agentId, environment_id: envId });

      await rate(50, CONCURRENCY, createSession); // warm-up: JIT, SQLite page cache, keep-alive sockets
      const creates: number[] = [];
      for (let r = 0; r < ROUNDS; r++) creates.push(await rate(CREATES_PER_ROUND, CONCURRENCY, createSession));

      const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, () => createSession().then((s) => s.id)));
      const appends: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        appends.push(
          await rate(POSTS_PER_ROUND, CONCURRENCY, (i) => client.beta.sessions.events.send(sessions[i % sessions.length], userMessage(`r${r} m${i}`))),
        );
      }

      const sid = (await createSession()).id;
      const latency = await deliveryLatency(client, `${p.url}/v1/sessions/${sid}/events/stream`, p.apiKey, sid, LATENCY_SAMPLES);
      return [
        { metric: `session creates (median of ${ROUNDS} rounds, ${CONCURRENCY} in flight)`, value: median(creates), unit: 'sessions/s' },
        { metric: `events appended via POST (median of ${ROUNDS} rounds, ${CONCURRENCY} in flight)`, value: median(appends), unit: 'events/s' },
        { metric: `SSE delivery POST→subscriber p50 (${LATENCY_SAMPLES} samples)`, value: quantile(latency, 0.5), unit: 'ms' },
        { metric: `SSE delivery POST→subscriber p99 (${LATENCY_SAMPLES} samples)`, value: quantile(latency, 0.99), unit: 'ms' },
      ];
    } finally {
      await p.stop();
    }
  },
};
