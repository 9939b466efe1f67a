import pino from 'pino';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { Agents } from '../../src/domain/agents.js';
import { Environments } from '../../src/domain/environments.js';
import { EventLog } from '../../src/domain/event-log.js';
import { Sessions } from '../../src/domain/sessions.js';
import { InProcessBus, type BusMessage } from '../../src/fanout/bus.js';
import { PostgresBus } from '../../src/fanout/postgres-bus.js';
import { PostgresLeases } from '../../src/runtime/postgres-leases.js';
import type { Store } from '../../src/store/db.js';
import { useStore } from '../support/store-backends.js';

const log = pino({ level: 'silent' });

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function newSession(store: Store): Promise<{ id: string; events: EventLog }> {
  const bus = new InProcessBus();
  const events = new EventLog(store.db, bus);
  const agents = new Agents(store.db);
  const environments = new Environments(store.db);
  const agent = await agents.create({ name: 'a', model: 'claude-sonnet-4-5' });
  const env = await environments.create({ name: `env-${Math.random()}` });
  const { session } = await new Sessions(store.db, events, bus, agents, environments).create({ agent: agent.id, environment_id: env.id });
  return { id: session.id, events };
}

describe('session leases on Postgres', () => {
  const h = useStore('postgres');

  it('lets exactly one node hold a session until it releases it', async () => {
    const [a, b] = [new PostgresLeases(h.store.db, 'node-a', 30_000), new PostgresLeases((await h.connect()).db, 'node-b', 30_000)];
    expect(await a.tryAcquire('sesn_1')).toBe(true);
    expect(await b.tryAcquire('sesn_1')).toBe(false);
    expect(await a.tryAcquire('sesn_1')).toBe(false);
    expect(await b.renew('sesn_1')).toBe(false);
    expect(await a.renew('sesn_1')).toBe(true);
    await b.release('sesn_1'); // not b's to release
    expect(await b.tryAcquire('sesn_1')).toBe(false);
    await a.release('sesn_1');
    expect(await b.tryAcquire('sesn_1')).toBe(true);
    expect(await a.renew('sesn_1')).toBe(false);
  });

  it('frees a lease that was not renewed once it expires, and the old holder learns it lost it', async () => {
    const a = new PostgresLeases(h.store.db, 'node-a', 300);
    const b = new PostgresLeases((await h.connect()).db, 'node-b', 300);
    expect(await a.tryAcquire('sesn_2')).toBe(true);
    expect(await b.tryAcquire('sesn_2')).toBe(false);
    await until('the lease to expire and move', () => b.tryAcquire('sesn_2'));
    expect(await a.renew('sesn_2')).toBe(false);
    expect(await b.renew('sesn_2')).toBe(true);
  });

  it('gives a contested lease to exactly one of many racing nodes', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => h.connect()));
    for (let round = 0; round < 5; round++) {
      const nodes = Array.from({ length: 12 }, (_, i) => new PostgresLeases(stores[i % stores.length].db, `node-${i}`, 30_000));
      const won = await Promise.all(nodes.map((n) => n.tryAcquire(`sesn_race_${round}`)));
      expect(won.filter(Boolean)).toHaveLength(1);
    }
  });
});

describe('Postgres bus', () => {
  const h = useStore('postgres');

  async function bus(nodeId: string, pollMs = 60_000): Promise<PostgresBus> {
    const store = await h.connect();
    const b = new PostgresBus({ db: store.db, connectionString: h.databaseUrl!, nodeId, log, pollMs });
    await b.start();
    return b;
  }

  it("delivers one node's messages to another's subscribers, in the order they were sent, and to its own once", async () => {
    const [a, b] = [await bus('a'), await bus('b')];
    const atB: BusMessage[] = [];
    const atA: BusMessage[] = [];
    b.subscribe('sesn_x', (m) => atB.push(m));
    a.subscribe('sesn_x', (m) => atA.push(m));
    a.appended('sesn_x', 1);
    for (let i = 0; i < 150; i++) a.ephemeral('sesn_x', { type: 'event_delta', event_id: 'sevt_1', delta: { i } });
    a.appended('sesn_x', 2);
    a.deleted('sesn_x');
    await until('all messages at b', () => atB.length >= 153);
    expect(atB[0]).toEqual({ kind: 'appended', seq: 1 });
    expect(atB.slice(1, 151).map((m) => (m.kind === 'ephemeral' ? (m.frame.delta as { i: number }).i : -1))).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(atB.slice(151)).toEqual([{ kind: 'appended', seq: 2 }, { kind: 'deleted' }]);
    expect(atA).toHaveLength(153);
    await Promise.all([a.close(), b.close()]);
  });

  it('catches up from the log when a notification is missed or the listening connection drops', async () => {
    const b = await bus('b', 200);
    const { id, events } = await newSession(h.store); // its bus is in-process: nothing is notified
    const seen: number[] = [];
    b.subscribe(id, (m) => m.kind === 'appended' && seen.push(m.seq));
    await events.append(id, [{ type: 'user.message', content: [] }]);
    await until('the poll to report seq 1', () => seen.includes(1));

    // Cut the listening connection; appends made meanwhile still reach the subscriber.
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where query ilike 'LISTEN%' and pid <> pg_backend_pid()`.execute(h.store.db);
    await events.append(id, [
      { type: 'user.message', content: [] },
      { type: 'user.message', content: [] },
    ]);
    await until('the subscriber to hear of seq 3', () => seen.includes(3));

    // After reconnecting, notifications flow again.
    const other = await bus('c');
    await until('b to listen again', async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where query ilike 'LISTEN%'`.execute(h.store.db);
      return rows[0].n >= 2;
    });
    other.appended(id, 99);
    await until('a notification after the reconnect', () => seen.includes(99));

    // A session deleted elsewhere ends its followers even if the notice was missed.
    await h.store.db.deleteFrom('sessions').where('id', '=', id).execute();
    let deleted = false;
    b.subscribe(id, (m) => m.kind === 'deleted' && (deleted = true));
    await until('the poll to report the deletion', () => deleted);
    await Promise.all([b.close(), other.close()]);
  });
});
