import { describe, expect, it } from 'vitest';
import { Agents } from '../../src/domain/agents.js';
import { Environments } from '../../src/domain/environments.js';
import { EventLog } from '../../src/domain/event-log.js';
import { Sessions } from '../../src/domain/sessions.js';
import { InProcessBus } from '../../src/fanout/bus.js';
import type { Store } from '../../src/store/db.js';
import { DIALECTS, useStore } from '../support/store-backends.js';

/** The domain objects over one store, as one node has them. */
function node(store: Store) {
  const bus = new InProcessBus();
  const events = new EventLog(store.db, bus);
  const agents = new Agents(store.db);
  const environments = new Environments(store.db);
  const sessions = new Sessions(store.db, events, bus, agents, environments);
  return { bus, events, agents, environments, sessions };
}

let envCounter = 0;
async function newSession(n: ReturnType<typeof node>): Promise<string> {
  const agent = await n.agents.create({ name: 'a', model: 'claude-sonnet-4-5' });
  const env = await n.environments.create({ name: `env-${++envCounter}-${Math.random()}` });
  return (await n.sessions.create({ agent: agent.id, environment_id: env.id })).session.id;
}

describe.each(DIALECTS)('event log on %s', (dialect) => {
  const h = useStore(dialect);

  it('numbers events 1, 2, 3… in append order and reads them back in either order', async () => {
    const n = node(h.store);
    const id = await newSession(n);
    const first = await n.events.append(id, [{ type: 'user.message', content: [{ type: 'text', text: 'héllo ✓ "quoted" \n' }] }]);
    await n.events.append(id, [
      { type: 'agent.message', content: [] },
      { type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null },
    ]);
    const all = await n.events.all(id);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(all.map((e) => e.event.type)).toEqual(['user.message', 'agent.message', 'session.status_idle']);
    expect(all[0].event).toEqual(first[0]);
    expect(typeof all[0].seq).toBe('number');
    const desc = await n.events.list(id, { order: 'desc', limit: 2 });
    expect(desc.map((e) => e.seq)).toEqual([3, 2]);
    expect((await n.events.after(id, 1)).map((e) => e.seq)).toEqual([2, 3]);
    expect(await n.events.lastSeq(id)).toBe(3);
    expect(await n.events.seqOf(id, first[0].id)).toBe(1);
    expect((await n.events.list(id, { order: 'asc', limit: 10, types: ['agent.message'] })).map((e) => e.seq)).toEqual([2]);
    expect((await n.sessions.get(id)).status).toBe('idle');
  });

  it('keeps the session status in step with status events', async () => {
    const n = node(h.store);
    const id = await newSession(n);
    await n.events.append(id, [{ type: 'session.status_running' }]);
    expect((await n.sessions.get(id)).status).toBe('running');
    await n.events.append(id, [{ type: 'session.status_idle', stop_reason: { type: 'end_turn' }, stop_details: null }]);
    expect((await n.sessions.get(id)).status).toBe('idle');
  });

  it('makes a repeated append with the same dedupe key a no-op that returns the first events', async () => {
    const n = node(h.store);
    const id = await newSession(n);
    const notified: number[] = [];
    n.bus.subscribe(id, (m) => m.kind === 'appended' && notified.push(m.seq));
    const a = await n.events.append(id, [{ type: 'agent.message', content: [] }, { type: 'agent.thinking' }], { dedupeKey: 'step-1' });
    const b = await n.events.append(id, [{ type: 'agent.message', content: [] }, { type: 'agent.thinking' }], { dedupeKey: 'step-1' });
    expect(b.map((e) => e.id)).toEqual(a.map((e) => e.id));
    await n.events.append(id, [{ type: 'agent.message', content: [] }], { dedupeKey: 'step-2' });
    expect((await n.events.all(id)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(notified).toEqual([2, 3]);
  });

  it('a repeated step changes nothing, not even the status its events would set; a step key is per session', async () => {
    const n = node(h.store);
    const a = await newSession(n);
    const b = await newSession(n);
    const first = await n.events.append(a, [{ type: 'agent.message', content: [] }], { dedupeKey: 'mre:1' });
    const repeat = await n.events.append(a, [{ type: 'agent.message', content: [] }, { type: 'session.status_running' }], { dedupeKey: 'mre:1' });
    expect(repeat).toEqual(first);
    expect((await n.sessions.get(a)).status).toBe('idle');
    expect(await n.events.lastSeq(a)).toBe(1);
    const other = await n.events.append(b, [{ type: 'agent.message', content: [] }], { dedupeKey: 'mre:1' });
    expect(other[0].id).not.toBe(first[0].id);
    expect((await n.events.all(b)).map((e) => e.event.id)).toEqual([other[0].id]);
  });

  it('tails the log after any seq, a page at a time: the pages join up to the rest of the log', async () => {
    const n = node(h.store);
    const id = await newSession(n);
    for (let i = 0; i < 4; i++) await n.events.append(id, [{ type: 'agent.message', content: [] }, { type: 'agent.thinking' }]);
    for (const from of [0, 3, 8]) {
      const seqs: number[] = [];
      // Bounded: a tail that failed to move on must end the test, not loop.
      for (let pages = 0, after = from; pages < 5; pages++) {
        const page = await n.events.after(id, after, 3);
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(3);
        seqs.push(...page.map((e) => e.seq));
        after = page.at(-1)!.seq;
      }
      expect(seqs).toEqual(Array.from({ length: 8 - from }, (_, i) => from + i + 1));
    }
  });

  it('gives concurrent appends from many writers (a connection each on Postgres) strictly increasing seqs with no gap or duplicate', async () => {
    const writers = await Promise.all(Array.from({ length: 5 }, async () => node(await h.connect())));
    const id = await newSession(writers[0]);
    const perWriter = 15;
    await Promise.all(
      writers.map(async (w, wi) => {
        for (let i = 0; i < perWriter; i++) {
          const size = 1 + (i % 3);
          await w.events.append(
            id,
            Array.from({ length: size }, (_, k) => ({ type: 'agent.message', writer: wi, n: i, k, content: [] })),
          );
        }
      }),
    );
    const all = await h.store.db.selectFrom('events').select(['seq', 'id', 'data']).where('session_id', '=', id).orderBy('seq').execute();
    const total = writers.length * Array.from({ length: perWriter }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b, 0);
    expect(all.map((r) => Number(r.seq))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(all.map((r) => r.id)).size).toBe(total);
    expect(await writers[1].events.lastSeq(id)).toBe(total);
    // Each writer's own appends stay in its order, and each batch stays contiguous.
    const parsed = all.map((r) => JSON.parse(r.data) as { writer: number; n: number; k: number });
    for (let wi = 0; wi < writers.length; wi++) {
      const mine = parsed.map((e, i) => ({ ...e, seq: i + 1 })).filter((e) => e.writer === wi);
      expect(mine.map((e) => e.n * 10 + e.k)).toEqual([...mine.map((e) => e.n * 10 + e.k)].sort((a, b) => a - b));
      for (let i = 1; i < mine.length; i++) if (mine[i].n === mine[i - 1].n) expect(mine[i].seq).toBe(mine[i - 1].seq + 1);
    }
  });

  it('writes a deduplicated append once when several writers race to make it', async () => {
    const writers = await Promise.all(Array.from({ length: 4 }, async () => node(await h.connect())));
    const id = await newSession(writers[0]);
    const results = await Promise.all(
      writers.map((w) => w.events.append(id, [{ type: 'agent.message', content: [] }, { type: 'agent.thinking' }], { dedupeKey: 'turn-1' })),
    );
    const ids = results[0].map((e) => e.id);
    for (const r of results) expect(r.map((e) => e.id)).toEqual(ids);
    expect((await writers[0].events.all(id)).map((e) => e.event.id)).toEqual(ids);
    expect(await writers[0].events.lastSeq(id)).toBe(2);
  });
});
