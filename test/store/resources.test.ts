import { describe, expect, it } from 'vitest';
import { Agents } from '../../src/domain/agents.js';
import { Environments } from '../../src/domain/environments.js';
import { EventLog } from '../../src/domain/event-log.js';
import { Sessions, type SessionListQuery } from '../../src/domain/sessions.js';
import { InProcessBus } from '../../src/fanout/bus.js';
import { DIALECTS, useStore } from '../support/store-backends.js';

const MODEL = 'claude-sonnet-4-5';

function sessionQuery(q: Partial<SessionListQuery> = {}): SessionListQuery {
  return { includeArchived: false, created: {}, direction: 'desc', limit: 100, ...q };
}

describe.each(DIALECTS)('agents, environments and sessions on %s', (dialect) => {
  const h = useStore(dialect);
  const domain = () => {
    const bus = new InProcessBus();
    const agents = new Agents(h.store.db);
    const environments = new Environments(h.store.db);
    const events = new EventLog(h.store.db, bus);
    return { agents, environments, sessions: new Sessions(h.store.db, events, bus, agents, environments) };
  };

  it('sorts ids bytewise, as they were created, whatever the database collation', async () => {
    // Mixed case, digits and '_' in the order their bytes sort: a linguistic collation would not keep it.
    const ids = ['agent_01', 'agent_01A', 'agent_01Z', 'agent_01_', 'agent_01a', 'agent_01z'];
    const now = new Date().toISOString();
    for (const id of [...ids].reverse()) {
      await h.store.db.insertInto('agents').values({ id, version: 1, created_at: now, updated_at: now, archived_at: null }).execute();
    }
    const rows = await h.store.db.selectFrom('agents').select('id').where('id', 'like', 'agent_01%').where('id', '<', 'agent_02').orderBy('id').execute();
    expect(rows.map((r) => r.id)).toEqual(ids);
    const after = await h.store.db.selectFrom('agents').select('id').where('id', 'in', ids).where('id', '>', 'agent_01Z').orderBy('id').execute();
    expect(after.map((r) => r.id)).toEqual(['agent_01_', 'agent_01a', 'agent_01z']);
    await h.store.db.deleteFrom('agents').where('id', 'in', ids).execute();
  });

  it('lets exactly one of many concurrent creates take an environment name; archiving frees it', async () => {
    const { environments } = domain();
    const name = `race-${dialect}`;
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => environments.create({ name })));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((r) => r.reason.status)).toEqual(Array(7).fill(409));
    await environments.archive((won[0] as PromiseFulfilledResult<{ id: string }>).value.id);
    expect((await environments.create({ name })).name).toBe(name);
  });

  it('creates, versions, lists and archives agents in creation order', async () => {
    const { agents } = domain();
    const created = [];
    for (let i = 0; i < 70; i++) created.push(await agents.create({ name: `agent ${i}`, model: MODEL, metadata: { i: String(i) } }));
    const updated = await agents.update(created[0].id, { version: 1, system: 'Be brief. — ünïcødé ✓' });
    expect(updated.version).toBe(2);
    expect((await agents.get(created[0].id, 1)).system).toBeNull();
    expect((await agents.get(created[0].id)).system).toBe('Be brief. — ünïcødé ✓');
    expect((await agents.versions(created[0].id, { direction: 'desc', limit: 10 })).map((a) => a.version)).toEqual([2, 1]);

    const ids = created.map((a) => a.id);
    const asc = await agents.list({ includeArchived: false, direction: 'asc', limit: 1000 });
    expect(asc.map((a) => a.id).filter((id) => ids.includes(id))).toEqual(ids);
    const page = await agents.list({ includeArchived: false, direction: 'asc', after: ids[9], limit: 5 });
    expect(page.map((a) => a.id)).toEqual(ids.slice(10, 15));
    await agents.archive(ids[1]);
    const live = await agents.list({ includeArchived: false, direction: 'asc', limit: 1000 });
    expect(live.some((a) => a.id === ids[1])).toBe(false);
    expect((await agents.list({ includeArchived: true, direction: 'asc', limit: 1000 })).some((a) => a.id === ids[1])).toBe(true);
  });

  it('creates, updates, lists and deletes environments', async () => {
    const { environments } = domain();
    const a = await environments.create({ name: `env-a-${dialect}`, metadata: { team: 'x' } });
    const b = await environments.create({ name: `env-b-${dialect}` });
    await expect(environments.create({ name: `env-a-${dialect}` })).rejects.toMatchObject({ status: 409 });
    const renamed = await environments.update(a.id, { description: 'first' });
    expect(renamed.description).toBe('first');
    const desc = await environments.list({ includeArchived: false, direction: 'desc', limit: 100 });
    expect(desc.map((e) => e.id).filter((id) => id === a.id || id === b.id)).toEqual([b.id, a.id]);
    await environments.delete(b.id);
    await expect(environments.get(b.id)).rejects.toMatchObject({ status: 404 });
  });

  it('creates sessions with initial events, lists them newest first with filters and pages, deletes them', async () => {
    const { agents, environments, sessions } = domain();
    const agent = await agents.create({ name: 'sessions', model: MODEL });
    const other = await agents.create({ name: 'other', model: MODEL });
    const env = await environments.create({ name: `sessions-${dialect}` });
    const mine: string[] = [];
    for (let i = 0; i < 12; i++) mine.push((await sessions.create({ agent: agent.id, environment_id: env.id, title: `s${i}` })).session.id);
    const theirs = (
      await sessions.create({ agent: other.id, environment_id: env.id, initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }] })
    ).session.id;

    const listed = await sessions.list(sessionQuery({ agentId: agent.id }));
    expect(listed.map((s) => s.id)).toEqual([...mine].reverse());
    expect(listed[0].agent.id).toBe(agent.id);
    const older = await sessions.list(sessionQuery({ agentId: agent.id, before: mine[5], direction: 'desc', limit: 3 }));
    expect(older.map((s) => s.id)).toEqual([mine[4], mine[3], mine[2]]);
    const gte = listed[5].created_at;
    const since = await sessions.list(sessionQuery({ agentId: agent.id, created: { gte } }));
    expect(since.every((s) => s.created_at >= gte)).toBe(true);

    const theirsEvents = await new EventLog(h.store.db, new InProcessBus()).all(theirs);
    expect(theirsEvents.map((e) => e.event.type)).toEqual(['user.message']);
    await sessions.update(mine[0], { title: 'renamed', metadata: { k: 'v' } });
    const got = await sessions.get(mine[0]);
    expect(got.title).toBe('renamed');
    expect(got.metadata).toEqual({ k: 'v' });

    await sessions.archive(mine[1]);
    expect((await sessions.list(sessionQuery({ agentId: agent.id }))).some((s) => s.id === mine[1])).toBe(false);
    await sessions.delete(theirs);
    await expect(sessions.get(theirs)).rejects.toMatchObject({ status: 404 });
    expect(await new EventLog(h.store.db, new InProcessBus()).all(theirs)).toEqual([]);
  });
});
