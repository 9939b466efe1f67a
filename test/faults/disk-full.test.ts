import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { events, say, TEXT_TURN, types, waitForIdle, type Ev } from '../runtime/harness.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';
import { multipartBody, rawConnection, request } from '../support/raw-http.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';
import { until } from '../support/until.js';

/**
 * The data directory fills up in the middle of a turn (a small tmpfs, filled by the test while
 * the model is answering). Nothing is lost and nothing sticks: requests that need to write get a
 * clear, retryable 5xx; the turn waits, and once space returns it finishes with the answer the
 * model already gave — the session does not stay `running` forever.
 */
let dir: string;
let model: ScriptedModel;
let p: PaddockProcess;
const filler = () => path.join(dir, 'filler');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'paddock-full-'));
  // Root is needed to mount; the project's CI runs as root (a failure here says so plainly).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'tmpfs', dir]);
  model = await startScriptedModel();
  p = await startPaddock({
    dataDir: dir,
    env: { ANTHROPIC_BASE_URL: model.url, PADDOCK_SANDBOX: 'none', PADDOCK_STEP_RETRY_BASE_MS: '100', PADDOCK_STEP_RETRY_MAX_MS: '1000' },
  });
});

afterAll(async () => {
  await p?.stop();
  await model?.close();
  if (dir) {
    execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  }
});

/** Writes a file until the filesystem has no space left (ENOSPC), in big then page-sized pieces. */
function fillDisk(): void {
  const fd = openSync(filler(), 'w');
  try {
    for (const size of [1 << 20, 4096]) {
      const chunk = Buffer.alloc(size, 'f');
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

it('a turn caught by a full disk finishes once space returns; writes meanwhile get a retryable 503', async () => {
  const client = p.client;
  const agent = await client.beta.agents.create({ name: 'disk-full', model: 'claude-sonnet-4-6' });
  const env = await client.beta.environments.create({ name: 'disk-full-env' });
  const sid = (await client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
  await say(client, sid, 'first');
  await waitForIdle(client, sid, 1);

  // The second answer is held until the disk is full, so that the turn needs to write just then.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  model.enqueue(async () => {
    await released;
    return { content: [{ type: 'text', text: 'the answer given while the disk was full' }] };
  });
  await say(client, sid, 'second');
  await model.waitForRequests(2);
  fillDisk();

  try {
    // A write from a client: a clear 5xx the SDK retries by itself (x-should-retry: true).
    const refused = await raw(p, 'POST', `/v1/sessions/${sid}/events`, {
      body: { events: [{ type: 'user.message', content: [{ type: 'text', text: 'during' }] }] },
    });
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: expect.stringMatching(/storage/i) } });
    expect(refused.headers.get('x-should-retry')).toBe('true');
    const viaSdk = await client.beta.agents.create({ name: 'no room', model: 'claude-sonnet-4-6' }).catch((e: unknown) => e);
    expect(viaSdk).toBeInstanceOf(Anthropic.InternalServerError);
    expect((viaSdk as InstanceType<typeof Anthropic.InternalServerError>).status).toBe(503);

    // An upload that runs out of space mid-body: answered, and its connection stays usable.
    const conn = await rawConnection(p.url);
    try {
      conn.write(
        request(
          'POST',
          '/v1/files',
          { 'x-api-key': p.apiKey, 'content-type': 'multipart/form-data; boundary=paddockboundary' },
          multipartBody('file', 2 << 20),
        ),
      );
      const upload = await conn.response();
      expect(upload.status).toBe(503);
      expect(JSON.parse(upload.body).error.type).toBe('overloaded_error');
      conn.write(request('GET', `/v1/sessions/${sid}`, { 'x-api-key': p.apiKey }));
      const next = await conn.response();
      expect(next.status).toBe(200);
      expect(JSON.parse(next.body).status).toBe('running');
    } finally {
      conn.close();
    }

    // Now the model answers, and the turn cannot store it.
    release();
    await until('the turn to hit the full disk', () =>
      p
        .output()
        .split('\n')
        .some((l) => l.includes('SQLITE_FULL') && l.includes(sid)),
    );
    expect((await client.beta.sessions.retrieve(sid)).status).toBe('running');
  } finally {
    release();
    unlinkSync(filler());
  }

  const log = await waitForIdle(client, sid, 2);
  const second = log.slice(log.findIndex((e) => e.type === 'user.message' && JSON.stringify(e.content).includes('second')));
  expect(types(second)).toEqual(TEXT_TURN);
  expect(second.filter((e) => e.type === 'agent.message').map((e: Ev) => e.content[0].text)).toEqual(['the answer given while the disk was full']);
  // The answer the model gave was kept and stored once space returned: it was not asked again.
  expect(model.requests).toHaveLength(2);
  expect(new Set((await events(client, sid)).map((e) => e.id)).size).toBe(log.length);
  // The log names the cause, not a failed rollback that hides it.
  expect(p.output()).toContain('SQLITE_FULL');
  expect(p.output()).not.toMatch(/cannot rollback/i);
});
