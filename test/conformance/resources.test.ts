import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';

let p: PaddockProcess;
let client: Anthropic;
let envId: string;
let agentId: string;

beforeAll(async () => {
  p = await startPaddock();
  client = p.client;
  envId = (await client.beta.environments.create({ name: 'resources-env' })).id;
  agentId = (await client.beta.agents.create({ name: 'resources-agent', model: 'claude-opus-4-7' })).id;
});
afterAll(async () => {
  await p?.stop();
});

const upload = async (name = 'data.csv') => client.beta.files.upload({ file: await toFile(Buffer.from('a,b\n'), name, { type: 'text/csv' }) });
const newSession = (resources: Anthropic.Beta.SessionCreateParams['resources'] = []) =>
  client.beta.sessions.create({ agent: agentId, environment_id: envId, resources });
const res = () => client.beta.sessions.resources;

async function all<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

describe('session resources at create', () => {
  it('file, github_repository and memory_store: defaults filled in, token never echoed', async () => {
    const f = await upload();
    const s = await newSession([
      { type: 'file', file_id: f.id },
      {
        type: 'github_repository',
        url: 'https://github.com/acme/widgets.git',
        authorization_token: 'ghp_create_token',
        checkout: { type: 'branch', name: 'main' },
      },
      { type: 'memory_store', memory_store_id: 'memstore_01abc', access: 'read_only', instructions: 'team notes' },
    ]);
    expect(s.resources).toHaveLength(3);
    const [file, repo, mem] = s.resources as any[];
    expect(file).toEqual({
      type: 'file',
      id: expect.stringMatching(/^sesrsc_01/),
      file_id: f.id,
      mount_path: `/mnt/session/uploads/${f.id}`,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(repo).toEqual({
      type: 'github_repository',
      id: expect.stringMatching(/^sesrsc_01/),
      url: 'https://github.com/acme/widgets.git',
      mount_path: '/workspace/widgets',
      checkout: { type: 'branch', name: 'main' },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(mem).toEqual({ type: 'memory_store', memory_store_id: 'memstore_01abc', access: 'read_only', instructions: 'team notes' });
    expect(JSON.stringify(s)).not.toContain('ghp_create_token');
    expect((await client.beta.sessions.retrieve(s.id)).resources).toEqual(s.resources);
    const listed = await all(res().list(s.id));
    expect(listed).toEqual(s.resources);
  });

  it('bad resources fail the create with a 4xx naming the entry', async () => {
    const f = await upload();
    const cases: Array<[unknown, number, RegExp]> = [
      [{ type: 'file', file_id: 'file_01missing' }, 404, /file_01missing/],
      [{ type: 'file', file_id: f.id, mount_path: '/workspace/../etc/passwd' }, 400, /resources\.0\.mount_path/],
      [{ type: 'file', file_id: f.id, mount_path: 'relative/path' }, 400, /absolute/],
      [{ type: 'file', file_id: f.id, mount_path: '/etc/cron.d/job' }, 400, /\/etc/],
      [{ type: 'file', file_id: f.id, mount_path: '/' }, 400, /system directory/],
      [{ type: 'file', file_id: f.id, mount_path: '/mnt/session/outputs/x' }, 400, /outputs/],
      // Where the environment's packages are mounted: a resource there would hide them or fail the sandbox's start.
      [{ type: 'github_repository', url: 'https://github.com/a/b', mount_path: '/opt/paddock/env' }, 400, /\/opt\/paddock/],
      [{ type: 'file', file_id: f.id, mount_path: '/opt/paddock/env/bin/python3' }, 400, /\/opt\/paddock/],
      [{ type: 'file', file_id: f.id, mount_path: '/workspace//a.csv' }, 400, /normalised/],
      [{ type: 'file', file_id: f.id, mount_path: '/workspace/./a.csv' }, 400, /normalised/],
      [{ type: 'github_repository', url: 'not a url' }, 400, /resources\.0\.url/],
      [{ type: 'github_repository', url: 'https://user:pw@github.com/a/b' }, 400, /authorization_token/],
      [{ type: 'github_repository', url: 'https://github.com/a/b', checkout: { type: 'commit', sha: 'xyz' } }, 400, /sha/],
      [{ type: 'memory_store', memory_store_id: 'store_1' }, 400, /memstore_/],
      [{ type: 'volume' }, 400, /resources\.0\.type/],
    ];
    for (const [r, status, msg] of cases) {
      const out = await raw(p, 'POST', '/v1/sessions', { body: { agent: agentId, environment_id: envId, resources: [r] } });
      expect(out.status, JSON.stringify(r)).toBe(status);
      expect(out.json.type).toBe('error');
      expect(out.json.error.message).toMatch(msg);
    }
    const dupMount = await raw(p, 'POST', '/v1/sessions', {
      body: {
        agent: agentId,
        environment_id: envId,
        resources: [
          { type: 'file', file_id: f.id, mount_path: '/workspace/a' },
          { type: 'file', file_id: f.id, mount_path: '/workspace/a' },
        ],
      },
    });
    expect(dupMount.status).toBe(400);
    expect(dupMount.json.error.message).toMatch(/resources\.1\.mount_path/);
  });
});

describe('session resources on a live session', () => {
  it('add a file (default and custom mount), retrieve, list, detach', async () => {
    const s = await newSession();
    const f1 = await upload('one.csv');
    const f2 = await upload('two.csv');
    const a = await res().add(s.id, { type: 'file', file_id: f1.id });
    expect(a).toMatchObject({ type: 'file', file_id: f1.id, mount_path: `/mnt/session/uploads/${f1.id}` });
    expect(a.id).toMatch(/^sesrsc_01/);
    const b = await res().add(s.id, { type: 'file', file_id: f2.id, mount_path: '/workspace/data/two.csv' });
    expect(b.mount_path).toBe('/workspace/data/two.csv');
    expect(await res().retrieve(a.id, { session_id: s.id })).toEqual(a);
    expect((await all(res().list(s.id, { limit: 1 }))).map((r: any) => r.id)).toEqual([a.id, b.id]);
    expect((await client.beta.sessions.retrieve(s.id)).resources.map((r: any) => r.id)).toEqual([a.id, b.id]);

    expect(await res().delete(a.id, { session_id: s.id })).toEqual({ id: a.id, type: 'session_resource_deleted' });
    await expect(res().retrieve(a.id, { session_id: s.id })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    expect((await client.beta.sessions.retrieve(s.id)).resources.map((r: any) => r.id)).toEqual([b.id]);
    expect((await all(res().list(s.id))).map((r: any) => r.id)).toEqual([b.id]);
  });

  it('add refuses unknown files, taken mounts, traversal and memory stores', async () => {
    const s = await newSession();
    const f = await upload();
    await res().add(s.id, { type: 'file', file_id: f.id, mount_path: '/workspace/in.csv' });
    const missing = await res()
      .add(s.id, { type: 'file', file_id: 'file_01nothing' })
      .catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    const taken = await res()
      .add(s.id, { type: 'file', file_id: f.id, mount_path: '/workspace/in.csv' })
      .catch((e) => e);
    expect(taken).toBeInstanceOf(Anthropic.BadRequestError);
    const traversal = await res()
      .add(s.id, { type: 'file', file_id: f.id, mount_path: '/workspace/../../proc/self' })
      .catch((e) => e);
    expect(traversal).toBeInstanceOf(Anthropic.BadRequestError);
    expect(traversal.error.error.message).toMatch(/\.\./);
    const mem = await raw(p, 'POST', `/v1/sessions/${s.id}/resources`, { body: { type: 'memory_store', memory_store_id: 'memstore_01x' } });
    expect(mem.status).toBe(400);
    expect(mem.json.error.message).toMatch(/created/);
    const noSession = await res()
      .add('sesn_01missing', { type: 'file', file_id: f.id })
      .catch((e) => e);
    expect(noSession).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('a github repository can be added and its token rotated; the token never comes back', async () => {
    const s = await newSession();
    const added = await raw(p, 'POST', `/v1/sessions/${s.id}/resources`, {
      body: { type: 'github_repository', url: 'https://github.com/acme/api', authorization_token: 'ghp_first', checkout: { type: 'commit', sha: 'abc1234' } },
    });
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({ type: 'github_repository', mount_path: '/workspace/api', checkout: { type: 'commit', sha: 'abc1234' } });
    expect(added.text).not.toContain('ghp_first');
    const rotated = await res().update(added.json.id, { session_id: s.id, authorization_token: 'ghp_second' });
    expect(rotated).toMatchObject({ id: added.json.id, type: 'github_repository', url: 'https://github.com/acme/api' });
    expect(Date.parse((rotated as { updated_at: string }).updated_at)).toBeGreaterThanOrEqual(Date.parse(added.json.updated_at));
    expect(JSON.stringify(rotated)).not.toContain('ghp_second');
    expect(rotated).not.toHaveProperty('authorization_token');

    const f = await upload();
    const file = await res().add(s.id, { type: 'file', file_id: f.id });
    await expect(res().update(file.id, { session_id: s.id, authorization_token: 'x' })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    const empty = await raw(p, 'POST', `/v1/sessions/${s.id}/resources/${added.json.id}`, { body: { authorization_token: '' } });
    expect(empty.status).toBe(400);
    const other = await raw(p, 'POST', `/v1/sessions/${s.id}/resources/${added.json.id}`, { body: { url: 'https://github.com/x/y' } });
    expect(other.status).toBe(400);
  });

  it('an archived session takes no resource changes (409, not retried)', async () => {
    const f = await upload();
    const s = await newSession([{ type: 'file', file_id: f.id }]);
    await client.beta.sessions.archive(s.id);
    const r = await raw(p, 'POST', `/v1/sessions/${s.id}/resources`, { body: { type: 'file', file_id: f.id, mount_path: '/workspace/x' } });
    expect(r.status).toBe(409);
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect((await all(res().list(s.id))).length).toBe(1);
  });
});
