import { afterAll, beforeAll, expect, it } from 'vitest';
import { say, waitForIdle } from '../runtime/harness.js';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';

/**
 * The database stops answering without refusing (its host hangs, a failover is under way): the
 * connections Paddock had are cut and new ones are accepted but never answered. A request must
 * still get an answer — a retryable 503, not a wait without end — and the node carries on once
 * the database is back.
 */
let pg: PostgresServer;
let relay: TcpRelay;
let model: ScriptedModel;
let p: PaddockProcess;

beforeAll(async () => {
  pg = await startPostgres();
  relay = await startTcpRelay(pg.port);
  const url = new URL(await pg.createDatabase());
  url.port = String(relay.port);
  model = await startScriptedModel();
  p = await startPaddock({
    env: {
      DATABASE_URL: url.href,
      ANTHROPIC_BASE_URL: model.url,
      PADDOCK_SANDBOX: 'none',
      PADDOCK_STEP_RETRY_BASE_MS: '100',
      PADDOCK_STEP_RETRY_MAX_MS: '1000',
    },
  });
});

afterAll(async () => {
  await p?.stop();
  await model?.close();
  await relay?.close();
  await pg?.stop();
});

it('a database that stops answering gets requests a 503, not a hang; the node carries on once it is back', async () => {
  const client = p.client;
  const agent = await client.beta.agents.create({ name: 'db-hangs', model: 'claude-sonnet-4-6' });
  const env = await client.beta.environments.create({ name: 'db-hangs-env' });
  const sid = (await client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
  await say(client, sid, 'before');
  await waitForIdle(client, sid, 1);

  relay.blackhole();
  // Requests may first meet pooled connections just cut (as many as the pool held); once those are
  // gone one needs a new connection, which the database no longer answers. A generous bound on
  // waiting for any answer: the point is that one comes, and that it is a retryable 503.
  const timedOut = /connection timeout|timeout exceeded when trying to connect/;
  for (let i = 0; i < 12 && !timedOut.test(p.output()); i++) {
    const res = await fetch(`${p.url}/v1/sessions/${sid}`, { headers: { 'x-api-key': p.apiKey }, signal: AbortSignal.timeout(60_000) }).catch(
      (err: unknown) => {
        throw new Error(`no answer while the database hangs: ${String(err)}`);
      },
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('true');
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('overloaded_error');
  }
  // The log says why: the connection attempt gave up.
  expect(p.output()).toMatch(/connection timeout|timeout exceeded when trying to connect/);

  relay.forward();
  await say(client, sid, 'after');
  const log = await waitForIdle(client, sid, 2);
  expect(log.filter((e) => e.type === 'agent.message')).toHaveLength(2);
  expect(p.proc.exitCode).toBeNull();
}, 120_000);
