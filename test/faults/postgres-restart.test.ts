import type Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TEXT_TURN, type Ev } from '../runtime/harness.js';
import { startCluster, type PaddockCluster } from '../support/cluster.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { startScriptedModel, type RecordedRequest, type ScriptedModel } from '../support/scripted-model.js';
import { openSse } from '../support/sse.js';
import { until } from '../support/until.js';

/**
 * The database restarts (`pg_ctl restart -m fast`) while three nodes are busy with turns and
 * clients follow the sessions' streams. Every node stays up and reconnects; every turn finishes
 * with exactly one answer; the logs have no gap and no duplicate; and a client that follows a
 * stream, resuming with Last-Event-ID whenever it is cut off, sees every event exactly once.
 */
const SESSIONS = 6;
const TURNS = 4;

let pg: PostgresServer;
let model: ScriptedModel;
let c: PaddockCluster;

/** The text of the request's last user message. */
function lastText(req: RecordedRequest): string {
  const content = req.body.messages?.at(-1)?.content;
  const blocks: Array<{ type: string; text?: string }> = typeof content === 'string' ? [{ type: 'text', text: content }] : (content ?? []);
  return blocks.filter((b) => b.type === 'text').at(-1)?.text ?? '';
}

beforeAll(async () => {
  pg = await startPostgres();
  model = await startScriptedModel();
  // Each answer takes a while, so that the restart finds turns in flight.
  model.setFallback((req) => ({ delayMs: 300, chunkDelayMs: 20, content: [{ type: 'text', text: `answer to ${lastText(req)}` }] }));
  c = await startCluster({
    nodes: 3,
    databaseUrl: await pg.createDatabase(),
    env: {
      ANTHROPIC_BASE_URL: model.url,
      PADDOCK_SANDBOX: 'none',
      PADDOCK_LEASE_TTL_MS: '3000',
      PADDOCK_LEASE_RENEW_MS: '500',
      PADDOCK_LEASE_SCAN_MS: '500',
      PADDOCK_BUS_POLL_MS: '500',
      PADDOCK_STEP_RETRY_BASE_MS: '100',
      PADDOCK_STEP_RETRY_MAX_MS: '1000',
    },
  });
});

afterAll(async () => {
  await c?.stop();
  await model?.close();
  await pg?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Which nodes have exited, for failure messages. */
const exited = () =>
  c.nodes
    .map((n, i) => ({ node: i, code: n.proc.exitCode, signal: n.proc.signalCode, last: n.output().slice(-1500) }))
    .filter((n) => n.code !== null || n.signal !== null);

/** The session's whole log, asking again while the database is away (a client retrying 503s). */
async function logOf(client: Anthropic, sid: string): Promise<Ev[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const out: Ev[] = [];
      for await (const e of client.beta.sessions.events.list(sid)) out.push(e as Ev);
      return out;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no answer for a minute (${String(err)}); nodes that exited: ${JSON.stringify(exited())}`);
      await sleep(200);
    }
  }
}

const textOf = (e: Ev): string => (e.content as Array<{ text: string }>).map((b) => b.text).join('');

/**
 * Sends a message as a careful client does without idempotency keys: when the answer is lost (a
 * 503 while the database restarts), it looks at the log before sending again.
 */
async function sendOnce(client: Anthropic, sid: string, text: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await client.beta.sessions.events.send(sid, { events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`could not send for a minute (${String(err)}); nodes that exited: ${JSON.stringify(exited())}`);
      await sleep(200);
      if ((await logOf(client, sid)).some((e) => e.type === 'user.message' && textOf(e) === text)) return;
    }
  }
}

/** Follows a session's stream on one node, resuming with Last-Event-ID whenever the stream is cut off. */
function follow(nodeUrl: string, sid: string) {
  const ids: string[] = [];
  let stopped = false;
  let current: { close(): void } | undefined;
  const done = (async () => {
    while (!stopped) {
      try {
        const last = ids.at(-1);
        const s = await openSse(`${nodeUrl}/v1/sessions/${sid}/events/stream`, c.apiKey, last ? { 'last-event-id': last } : {});
        current = s;
        if (s.status !== 200) throw new Error(`stream answered ${s.status}`);
        for (;;) {
          const f = await s.next(60_000);
          if (!f || f.event === 'error') break;
          if (f.id) ids.push(f.id);
        }
        s.close();
      } catch {
        if (!stopped) await sleep(200);
      }
    }
  })();
  return {
    ids,
    stop: async () => {
      stopped = true;
      current?.close();
      await done;
    },
  };
}

it('a database restart under load leaves every node up, and every turn and stream exact', async () => {
  const agent = await c.client.beta.agents.create({ name: 'pg-restart', model: 'claude-sonnet-4-6' });
  const env = await c.client.beta.environments.create({ name: 'pg-restart-env' });
  const sessions: string[] = [];
  for (let i = 0; i < SESSIONS; i++) sessions.push((await c.client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id);
  const followers = sessions.map((sid, i) => follow(c.nodes[(i + 1) % c.nodes.length].url, sid));
  // The followers have subscribed once their streams are open on the server; the first turn's
  // events then reach them live (and any they miss, they get on resuming).
  await sleep(300);

  // Each session's turns go to one node, one after another; the turns of all sessions overlap.
  const turns = sessions.map(async (sid, i) => {
    const client = c.clientFor(i % c.nodes.length);
    for (let t = 0; t < TURNS; t++) {
      await sendOnce(client, sid, `s${i}-t${t}`);
      await until(
        `turn ${t} of session ${i}`,
        () => logOf(client, sid),
        (log) => log.filter((e) => e.type === 'session.status_idle').length > t && log.at(-1)?.type === 'session.status_idle',
        { timeoutMs: 90_000, everyMs: 200 },
      );
    }
  });

  // Restart once every session is into its second turn.
  await model.waitForRequests(SESSIONS + 2, 60_000);
  await pg.restart({ downMs: 1500 });
  await Promise.all(turns);

  // Every node is still running, and each of them did lose its connections.
  for (const [i, node] of c.nodes.entries()) {
    expect({ node: i, exitCode: node.proc.exitCode, signal: node.proc.signalCode }).toEqual({ node: i, exitCode: null, signal: null });
    expect(node.output()).toMatch(/lost the notification connection to Postgres/);
  }
  // The outage met turns in flight (their steps waited for the database), not just idle nodes.
  const retried = c.nodes
    .flatMap((n) => n.output().split('\n'))
    .filter((l) => /runtime could not store a step result|runtime step failed on storage trouble/.test(l));
  expect(retried.length).toBeGreaterThan(0);

  for (const [i, sid] of sessions.entries()) {
    const log = await logOf(c.client, sid);
    // Every turn exactly once: one message, one answer, no gap, no repeat.
    expect(log.map((e) => e.type)).toEqual(Array.from({ length: TURNS }, () => TEXT_TURN).flat());
    expect(log.filter((e) => e.type === 'agent.message').map(textOf)).toEqual(Array.from({ length: TURNS }, (_, t) => `answer to s${i}-t${t}`));
    expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
    // The follower saw every event exactly once, across however many reconnects.
    const f = followers[i];
    await until(
      `the follower of session ${i} to catch up`,
      () => f.ids.length,
      (n) => n >= log.length,
      { timeoutMs: 30_000 },
    );
    expect(f.ids).toEqual(log.map((e) => e.id));
  }
  await Promise.all(followers.map((f) => f.stop()));
}, 240_000);
