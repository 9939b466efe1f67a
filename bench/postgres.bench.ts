import { startCluster, type PaddockCluster } from '../test/support/cluster.js';
import { startPostgres } from '../test/support/postgres.js';
import { deliveryLatency, median, quantile, rate as rateAt, userMessage as message } from './measure.js';

/**
 * The foundation figures (foundation.bench.ts) on Postgres, for one node and for three nodes
 * sharing the database. With three nodes the client spreads its requests round-robin over the
 * nodes (as a load balancer would), and the SSE subscriber sits on another node than the one
 * that takes the POST, so every delivery crosses nodes through LISTEN/NOTIFY. The Postgres
 * cluster is a throwaway one on the same machine, with fsync off (test/support/postgres.ts).
 */

const ROUNDS = 3;
const CREATES_PER_ROUND = 300;
const POSTS_PER_ROUND = 600;
const CONCURRENCY = 8;
const LATENCY_SAMPLES = 300;
const rate = (total: number, fn: (i: number) => Promise<unknown>) => rateAt(total, CONCURRENCY, fn);

async function measure(c: PaddockCluster, label: string) {
  const clients = c.nodes.map((_, i) => c.clientFor(i));
  const via = (i: number) => clients[i % clients.length];
  const envId = (await via(0).beta.environments.create({ name: 'bench' })).id;
  const agentId = (await via(0).beta.agents.create({ name: 'bench', model: 'claude-sonnet-4-6' })).id;
  const createSession = (i: number) => via(i).beta.sessions.create({ agent: agentId, environment_id: envId });

  await rate(50, createSession); // warm-up: JIT, connection pools, keep-alive sockets
  const creates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) creates.push(await rate(CREATES_PER_ROUND, createSession));

  const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => createSession(i).then((s) => s.id)));
  const appends: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    appends.push(await rate(POSTS_PER_ROUND, (i) => via(i).beta.sessions.events.send(sessions[i % sessions.length], message(`r${r} m${i}`))));
  }

  const sid = (await createSession(0)).id;
  const streamNode = c.nodes.length > 1 ? 1 : 0; // another node than the sender, when there is one
  const latency = await deliveryLatency(via(c.nodes.length - 1), `${c.nodes[streamNode].url}/v1/sessions/${sid}/events/stream`, c.apiKey, sid, LATENCY_SAMPLES);
  return [
    { metric: `${label}: session creates (median of ${ROUNDS} rounds, ${CONCURRENCY} in flight)`, value: median(creates), unit: 'sessions/s' },
    { metric: `${label}: events appended via POST (median of ${ROUNDS} rounds, ${CONCURRENCY} in flight)`, value: median(appends), unit: 'events/s' },
    { metric: `${label}: SSE delivery POST→subscriber p50 (${LATENCY_SAMPLES} samples)`, value: quantile(latency, 0.5), unit: 'ms' },
    { metric: `${label}: SSE delivery POST→subscriber p99 (${LATENCY_SAMPLES} samples)`, value: quantile(latency, 0.99), unit: 'ms' },
  ];
}

export default {
  name: 'postgres',
  async run() {
    const pg = await startPostgres();
    try {
      const results = [];
      for (const nodes of [1, 3]) {
        const c = await startCluster({
          nodes,
          databaseUrl: await pg.createDatabase(),
          // The model is unreachable and the runtime backs off for a minute after the first failure.
          env: { PADDOCK_MODEL_RETRY_BASE_MS: '60000', PADDOCK_MODEL_RETRY_MAX_MS: '60000' },
        });
        try {
          results.push(...(await measure(c, nodes === 1 ? '1 node' : `${nodes} nodes`)));
        } finally {
          await c.stop();
        }
      }
      return results;
    } finally {
      await pg.stop();
    }
  },
};
