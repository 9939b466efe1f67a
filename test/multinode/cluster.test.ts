import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect as all } from '../support/collect.js';
import { startCluster, type PaddockCluster } from '../support/cluster.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';
import { openSse } from '../support/sse.js';

/** Three Paddock processes on one Postgres; every request may land on any of them. */
let c: PaddockCluster;
let model: ScriptedModel;
let nodes: Anthropic[];

beforeAll(async () => {
  model = await startScriptedModel();
  c = await startCluster({ nodes: 3, env: { ANTHROPIC_BASE_URL: model.url, PADDOCK_BUS_POLL_MS: '500' } });
  nodes = [0, 1, 2].map((i) => c.clientFor(i));
});
afterAll(async () => {
  await c?.stop();
  await model?.close();
});

const message = (text: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text }] });

describe('three nodes, one database', () => {
  it('reads on every node what was created on another', async () => {
    const agent = await nodes[0].beta.agents.create({ name: 'multi', model: 'claude-sonnet-4-5', system: 'Be brief.' });
    const env = await nodes[1].beta.environments.create({ name: 'multi-env' });
    const session = await nodes[2].beta.sessions.create({ agent: agent.id, environment_id: env.id, title: 'made on node 2' });
    for (const n of nodes) {
      expect((await n.beta.agents.retrieve(agent.id)).system).toBe('Be brief.');
      expect((await n.beta.environments.retrieve(env.id)).name).toBe('multi-env');
      expect((await n.beta.sessions.retrieve(session.id)).title).toBe('made on node 2');
    }
    await nodes[0].beta.agents.update(agent.id, { version: 1, system: 'Be thorough.' });
    expect((await nodes[2].beta.agents.retrieve(agent.id)).version).toBe(2);
    await nodes[1].beta.sessions.update(session.id, { title: 'renamed on node 1' });
    expect((await nodes[0].beta.sessions.retrieve(session.id)).title).toBe('renamed on node 1');
  });

  it('pages a list across nodes: a cursor made by one node is honoured by the next', async () => {
    const agent = await c.client.beta.agents.create({ name: 'pager', model: 'claude-sonnet-4-5' });
    const env = await c.client.beta.environments.create({ name: 'pager-env' });
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await c.client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id);
    // The SDK's auto-pagination goes through the round-robin proxy: each page from another node.
    const listed = await all(c.client.beta.sessions.list({ agent_id: agent.id, limit: 2 }));
    expect(listed.map((s) => s.id)).toEqual([...made].reverse());
  });

  it('streams on one node, in order and without a gap, the events sent to and written by the others', async () => {
    const agent = await nodes[0].beta.agents.create({ name: 'streamer', model: 'claude-sonnet-4-5' });
    const env = await nodes[0].beta.environments.create({ name: 'streamer-env' });
    const sid = (await nodes[0].beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
    model.setFallback({ content: [{ type: 'text', text: 'noted' }] });

    const stream = await openSse(`${c.nodes[1].url}/v1/sessions/${sid}/events/stream`, c.apiKey);
    const turns = 4;
    for (let i = 0; i < turns; i++) {
      // Sent to node 2 (the runtime there drives the turn) or node 0, never to the streaming node.
      await nodes[i % 2 === 0 ? 2 : 0].beta.sessions.events.send(sid, { events: [message(`turn ${i}`)] });
      await waitIdle(nodes[2], sid, i + 1);
    }
    const history = await all(nodes[0].beta.sessions.events.list(sid, { limit: 100 }));
    const frames = await stream.until((f) => f.id === history[history.length - 1].id, 20_000);
    stream.close();
    const streamed = frames.filter((f) => f.event !== 'ping').map((f) => JSON.parse(f.data) as { id: string; type: string });
    expect(streamed.map((e) => e.id)).toEqual(history.map((e) => e.id));
    expect(history.filter((e) => e.type === 'user.message')).toHaveLength(turns);
    expect(history.filter((e) => e.type === 'agent.message')).toHaveLength(turns);
  });

  it('ends a stream on one node when the session is deleted on another', async () => {
    const agent = await nodes[0].beta.agents.create({ name: 'deleter', model: 'claude-sonnet-4-5' });
    const env = await nodes[0].beta.environments.create({ name: 'deleter-env' });
    const sid = (await nodes[0].beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
    const stream = await openSse(`${c.nodes[1].url}/v1/sessions/${sid}/events/stream`, c.apiKey);
    await nodes[2].beta.sessions.delete(sid);
    const frames = await stream.until((f) => f.event === 'session.deleted', 10_000);
    expect(frames.at(-1)?.event).toBe('session.deleted');
    expect(await stream.next(5_000)).toBeUndefined();
    await expect(nodes[0].beta.sessions.retrieve(sid)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

/** Waits until the session has gone idle after its `turns`-th turn, as seen from `client`. */
async function waitIdle(client: Anthropic, sid: string, turns: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const events = await all(client.beta.sessions.events.list(sid, { limit: 100 }));
    const idles = events.filter((e) => e.type === 'session.status_idle').length;
    if (idles >= turns && events.at(-1)?.type === 'session.status_idle') return;
    if (Date.now() > deadline) throw new Error(`session ${sid} did not go idle: ${events.map((e) => e.type).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
