import type Anthropic from '@anthropic-ai/sdk';
import { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect as all } from '../support/collect.js';
import { startCluster } from '../support/cluster.js';
import { startPaddock } from '../support/paddock.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';

/**
 * One session object, several writers of different parts of it at once: `sessions.update`
 * (metadata keys, title), resources (add, token rotation, delete) and the runner writing usage
 * totals as turns complete. On one node over SQLite and on three nodes over Postgres (requests
 * spread round-robin), every write must still be there at the end: none is overwritten by a
 * writer that read the session before it.
 */
interface Backend {
  client: Anthropic;
  stop(): Promise<void>;
}

const BACKENDS: Array<[string, (env: Record<string, string>) => Promise<Backend>]> = [
  ['SQLite, one node', async (env) => startPaddock({ env })],
  ['Postgres, three nodes', async (env) => startCluster({ nodes: 3, env: { ...env, PADDOCK_BUS_POLL_MS: '500' } })],
];

const USAGE = { input_tokens: 7, output_tokens: 3, cache_read_input_tokens: 2, cache_creation_input_tokens: 1 };
const TURNS = 5;
const ROUNDS = 4;
/** The most metadata pairs a session may hold. */
const KEYS = Array.from({ length: 16 }, (_, i) => `key-${i}`);

/** Waits for the session's `n`-th `session.status_idle` (other writers keep appending after it). */
async function idleCount(client: Anthropic, sid: string, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const log = await all(client.beta.sessions.events.list(sid, { limit: 1000 }));
    if (log.filter((e) => e.type === 'session.status_idle').length >= n) return;
    if (Date.now() > deadline) throw new Error(`turn ${n} of ${sid} did not end`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(BACKENDS)('concurrent writers of one session on %s', (_name, start) => {
  let model: ScriptedModel;
  let b: Backend;
  beforeAll(async () => {
    model = await startScriptedModel();
    model.setFallback({ content: [{ type: 'text', text: 'ok' }], usage: USAGE });
    b = await start({ ANTHROPIC_BASE_URL: model.url });
  });
  afterAll(async () => {
    await b?.stop();
    await model?.close();
  });

  it('loses no metadata key, title, resource or usage total', async () => {
    const { client } = b;
    const agent = await client.beta.agents.create({ name: 'writers', model: 'claude-sonnet-4-5' });
    const env = await client.beta.environments.create({ name: `writers-${Math.random().toString(36).slice(2)}` });
    // Repositories attached at create have a token to rotate; files are added while the rest runs.
    const repos = Array.from({ length: ROUNDS }, (_, r) => ({
      type: 'github_repository' as const,
      url: `https://github.com/paddock/repo-${r}`,
      authorization_token: 'ghp_first',
    }));
    const created = await client.beta.sessions.create({ agent: agent.id, environment_id: env.id, resources: repos });
    const sid = created.id;
    const repoIds = created.resources.map((r) => (r as { id: string }).id);
    const file = await client.beta.files.upload({ file: await toFile(Buffer.from('a,b\n'), 'data.csv', { type: 'text/csv' }) });

    let turnsDone = false;
    const turns = (async () => {
      try {
        for (let i = 0; i < TURNS; i++) {
          await client.beta.sessions.events.send(sid, { events: [{ type: 'user.message', content: [{ type: 'text', text: `turn ${i}` }] }] });
          await idleCount(client, sid, i + 1);
        }
      } finally {
        turnsDone = true;
      }
    })();

    // Every key gets a new value each round, all at once; after the round, each must hold it.
    const metadata = (async () => {
      const seen: Array<Record<string, string>> = [];
      for (let r = 0; r < ROUNDS; r++) {
        await Promise.all(KEYS.map((k) => client.beta.sessions.update(sid, { metadata: { [k]: `round ${r}` } })));
        seen.push((await client.beta.sessions.retrieve(sid)).metadata);
      }
      return seen;
    })();

    // One writer renames the session again and again until the turns are over: the last name stays.
    const title = (async () => {
      let last = '';
      for (let i = 0; i < 500 && (i < 10 || !turnsDone); i++) {
        last = `title ${i}`;
        await client.beta.sessions.update(sid, { title: last });
      }
      return last;
    })();

    // Resources change in rounds too: three files attached at once, a token rotated, a file detached.
    const resources = (async () => {
      const rotated = new Map<string, string>();
      const detached = new Set<string>();
      for (let r = 0; r < ROUNDS; r++) {
        const added = await Promise.all(
          [0, 1, 2].map((i) => client.beta.sessions.resources.add(sid, { type: 'file', file_id: file.id, mount_path: `/data/${r}-${i}.csv` })),
        );
        const [updated] = await Promise.all([
          client.beta.sessions.resources.update(repoIds[r], { session_id: sid, authorization_token: 'ghp_second' }),
          client.beta.sessions.resources.delete(added[1].id, { session_id: sid }),
        ]);
        rotated.set(repoIds[r], (updated as { updated_at: string }).updated_at);
        detached.add(added[1].id);
      }
      return { rotated, detached };
    })();

    const [seen, lastTitle, changed] = await Promise.all([metadata, title, resources, turns]);

    expect(seen).toEqual(Array.from({ length: ROUNDS }, (_, r) => Object.fromEntries(KEYS.map((k) => [k, `round ${r}`]))));
    const s = await client.beta.sessions.retrieve(sid);
    expect(s.title).toBe(lastTitle);
    expect(s.metadata).toEqual(seen.at(-1));

    // The session shows exactly the resources that are attached, as they are now.
    const listed = (await all(client.beta.sessions.resources.list(sid))) as Array<{ id: string; updated_at: string }>;
    expect(listed).toHaveLength(ROUNDS + ROUNDS * 2);
    expect(listed.filter((r) => changed.detached.has(r.id))).toEqual([]);
    for (const [id, updatedAt] of changed.rotated) expect(listed.find((r) => r.id === id)?.updated_at).toBe(updatedAt);
    expect(s.resources).toEqual(listed);

    // Usage totals: every turn's model usage, summed.
    expect(s.usage).toMatchObject({
      input_tokens: TURNS * USAGE.input_tokens,
      output_tokens: TURNS * USAGE.output_tokens,
      cache_read_input_tokens: TURNS * USAGE.cache_read_input_tokens,
      cache_creation: { ephemeral_5m_input_tokens: TURNS * USAGE.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 },
    });
  });
});
