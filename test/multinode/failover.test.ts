import type Anthropic from '@anthropic-ai/sdk';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collect as all } from '../support/collect.js';
import { startCluster, type PaddockCluster } from '../support/cluster.js';
import { startScriptedModel, type RecordedRequest, type ScriptedModel } from '../support/scripted-model.js';

/**
 * A node dies (SIGKILL) in the middle of turns; the others take its sessions over once its
 * leases run out and finish them from the log: every turn ends with exactly one answer and the
 * logs have no gap and no duplicate.
 */
let c: PaddockCluster;
let model: ScriptedModel;
let releaseFirstRequests!: () => void;
const firstRequestsHeld = new Promise<void>((r) => (releaseFirstRequests = r));

const SESSIONS = 6;

/** The task text of the request's last user message. */
function taskOf(req: RecordedRequest): string {
  const last = req.body.messages?.at(-1);
  const content = typeof last?.content === 'string' ? last.content : (last?.content ?? []).map((b: { text?: string }) => b.text ?? '').join('');
  return /task-\d+/.exec(content)?.[0] ?? 'unknown';
}

beforeAll(async () => {
  model = await startScriptedModel();
  const seen = new Map<string, number>();
  // The first request of every task is held until the test lets go, so that a node can be
  // killed while it is waiting for the model; a repeat (the node that took over) is answered.
  model.setFallback(async (req) => {
    const task = taskOf(req);
    const n = (seen.get(task) ?? 0) + 1;
    seen.set(task, n);
    if (n === 1) await firstRequestsHeld;
    return { content: [{ type: 'text', text: `done ${task}` }] };
  });
  c = await startCluster({
    nodes: 3,
    env: {
      ANTHROPIC_BASE_URL: model.url,
      PADDOCK_LEASE_TTL_MS: '1500',
      PADDOCK_LEASE_RENEW_MS: '300',
      PADDOCK_LEASE_SCAN_MS: '300',
      PADDOCK_BUS_POLL_MS: '500',
    },
  });
});
afterAll(async () => {
  releaseFirstRequests?.();
  await c?.stop();
  await model?.close();
});

async function leaseHolders(): Promise<Map<string, string>> {
  const client = new pg.Client(c.databaseUrl);
  await client.connect();
  try {
    const { rows } = await client.query<{ session_id: string; node_id: string }>('select session_id, node_id from session_leases');
    return new Map(rows.map((r) => [r.session_id, r.node_id]));
  } finally {
    await client.end();
  }
}

it('finishes on the surviving nodes the turns of a node killed mid-turn, with no gap and no duplicate', async () => {
  const agent = await c.client.beta.agents.create({ name: 'failover', model: 'claude-sonnet-4-5' });
  const env = await c.client.beta.environments.create({ name: 'failover-env' });
  const sessions: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const sid = (await c.client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
    // Half the turns start on node 1 (the one that will die), half on node 2.
    const node: Anthropic = c.clientFor(i % 2 === 0 ? 1 : 2);
    await node.beta.sessions.events.send(sid, { events: [{ type: 'user.message', content: [{ type: 'text', text: `task-${i}` }] }] });
    sessions.push(sid);
  }
  await model.waitForRequests(SESSIONS, 30_000);
  const holders = await leaseHolders();
  const onVictim = sessions.filter((s) => holders.get(s) === 'node-1');
  expect(onVictim.length).toBeGreaterThan(0);

  await c.nodes[1].kill();
  releaseFirstRequests();

  // Bounded: lease TTL (1.5 s) + sweep interval + a model round trip, with a wide margin for CI.
  const deadline = Date.now() + 30_000;
  for (const sid of sessions) {
    for (;;) {
      const s = await c.clientFor(0).beta.sessions.retrieve(sid);
      const events = await all(c.clientFor(2).beta.sessions.events.list(sid, { limit: 100 }));
      if (s.status === 'idle' && events.at(-1)?.type === 'session.status_idle') break;
      if (Date.now() > deadline) throw new Error(`${sid} was not finished: ${s.status}; ${events.map((e) => e.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const survivors = new Set(['node-0', 'node-2']);
  for (const [i, sid] of sessions.entries()) {
    const events = await all(c.clientFor(0).beta.sessions.events.list(sid, { limit: 100 }));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const answers = events.filter((e) => e.type === 'agent.message');
    expect(answers).toHaveLength(1);
    expect(JSON.stringify(answers[0])).toContain(`done task-${i}`);
    expect(events.filter((e) => e.type === 'user.message')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  }
  // The sequence numbers behind those events: 1..n, nothing skipped or repeated.
  const client = new pg.Client(c.databaseUrl);
  await client.connect();
  try {
    for (const sid of sessions) {
      const { rows } = await client.query<{ seq: number }>('select seq from events where session_id = $1 order by seq', [sid]);
      expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    }
  } finally {
    await client.end();
  }
  // The killed node's sessions were finished by the others.
  expect(model.requests.length).toBeGreaterThanOrEqual(SESSIONS + onVictim.length);
  for (const holder of (await leaseHolders()).values()) expect(survivors.has(holder)).toBe(true);
});
