import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../support/collect.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';
import { openSse, type SseFrame } from '../support/sse.js';

let p: PaddockProcess;
let client: Anthropic;
let agentId: string;
let envId: string;

// Frequent keep-alives so that a test can see them; every other test must ignore them.
beforeAll(async () => {
  p = await startPaddock({ env: { PADDOCK_SSE_PING_MS: '100' } });
  client = p.client;
  agentId = (await client.beta.agents.create({ name: 'events-agent', model: 'claude-opus-4-7' })).id;
  envId = (await client.beta.environments.create({ name: 'events-env' })).id;
});
afterAll(async () => {
  await p?.stop();
});

const newSession = async () => (await client.beta.sessions.create({ agent: agentId, environment_id: envId })).id;
const message = (text: string) => ({ type: 'user.message' as const, content: [{ type: 'text' as const, text }] });
const send = (sid: string, ...texts: string[]) => client.beta.sessions.events.send(sid, { events: texts.map(message) });
const streamUrl = (sid: string, query = '') => `${p.url}/v1/sessions/${sid}/events/stream${query}`;
const notPing = (f: SseFrame) => f.event !== 'ping';

describe('events: send', () => {
  it('answers the stored echoes with sevt_ ids and processed_at', async () => {
    const sid = await newSession();
    const res = await client.beta.sessions.events.send(sid, {
      events: [message('hello'), { type: 'system.message', content: [{ type: 'text', text: 'be brief' }] } as any],
    });
    expect(res.data).toHaveLength(2);
    expect(res.data![0]).toMatchObject({ type: 'user.message', content: [{ type: 'text', text: 'hello' }] });
    expect(res.data![1]).toMatchObject({ type: 'system.message' });
    for (const e of res.data!) {
      expect(e.id).toMatch(/^sevt_01/);
      expect(Date.parse(e.processed_at as string)).not.toBeNaN();
    }
    const history = await collect(client.beta.sessions.events.list(sid, { types: ['user.message', 'system.message'] }));
    expect(history.map((e) => e.id)).toEqual(res.data!.map((e) => e.id));
  });

  it.each([
    ['no events', { events: [] }],
    ['events not a list', { events: 'hi' }],
    ['an unknown event type', { events: [{ type: 'user.shout', content: [] }] }],
    ['a server-only event type', { events: [{ type: 'agent.message', content: [{ type: 'text', text: 'x' }] }] }],
    ['a message without content', { events: [{ type: 'user.message' }] }],
    ['a message with a bad block', { events: [{ type: 'user.message', content: [{ type: 'text', text: 5 }] }] }],
    ['a confirmation with a bad result', { events: [{ type: 'user.tool_confirmation', tool_use_id: 'sevt_x', result: 'maybe' }] }],
    ['a system.message that is not last', { events: [{ type: 'system.message', content: [{ type: 'text', text: 'x' }] }, message('a')] }],
    ['a system.message on its own', { events: [{ type: 'system.message', content: [{ type: 'text', text: 'x' }] }] }],
    [
      'an outcome with too many iterations',
      {
        events: [{ type: 'user.define_outcome', description: 'd', rubric: { type: 'text', content: 'r' }, max_iterations: 99 }],
      },
    ],
  ])('refuses %s with a BadRequestError and stores nothing', async (_what, body) => {
    const sid = await newSession();
    const err = await client.beta.sessions.events.send(sid, body as any).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.type).toBe('invalid_request_error');
    expect((await client.beta.sessions.events.list(sid)).data).toEqual([]);
  });

  it('to an unknown session is a NotFoundError', async () => {
    await expect(send('sesn_01nothere', 'x')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('events: list', () => {
  let sid: string;
  let sent: string[];

  beforeAll(async () => {
    sid = await newSession();
    sent = [];
    for (let i = 0; i < 7; i++) sent.push((await send(sid, `m${i}`)).data![0].id);
  });

  it('auto-paginates in asc order over more than two pages', async () => {
    const got = await collect(client.beta.sessions.events.list(sid, { limit: 2, types: ['user.message'] }));
    expect(got.map((e) => e.id)).toEqual(sent);
    const first = await client.beta.sessions.events.list(sid, { limit: 3, types: ['user.message'] });
    expect(first.data).toHaveLength(3);
    expect(first.next_page).toBeTruthy();
    expect(first).not.toHaveProperty('prev_page');
  });

  it('order=desc, and a cursor reused with another order is a 400', async () => {
    const desc = await collect(client.beta.sessions.events.list(sid, { limit: 3, order: 'desc', types: ['user.message'] }));
    expect(desc.map((e) => e.id)).toEqual([...sent].reverse());
    const page = await client.beta.sessions.events.list(sid, { limit: 2, order: 'desc' });
    await expect(client.beta.sessions.events.list(sid, { order: 'asc', page: page.next_page! })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('filters by types[] and by created_at (processed_at)', async () => {
    expect((await client.beta.sessions.events.list(sid, { types: ['session.status_terminated'] })).data).toEqual([]);
    const history = await collect(client.beta.sessions.events.list(sid, { types: ['user.message'] }));
    const cut = history[4].processed_at as string;
    const since = await collect(client.beta.sessions.events.list(sid, { types: ['user.message'], 'created_at[gt]': cut } as any));
    for (const e of since) expect(Date.parse(e.processed_at as string)).toBeGreaterThan(Date.parse(cut));
    expect(since.map((e) => e.id)).not.toContain(history[4].id);
    const upTo = await collect(client.beta.sessions.events.list(sid, { types: ['user.message'], 'created_at[lte]': cut } as any));
    expect(upTo.map((e) => e.id)).toContain(history[4].id);
    expect(new Set([...since, ...upTo].map((e) => e.id))).toEqual(new Set(sent));
  });

  it('limit is capped at 1000', async () => {
    expect((await raw(p, 'GET', `/v1/sessions/${sid}/events?limit=1000`)).status).toBe(200);
    expect((await raw(p, 'GET', `/v1/sessions/${sid}/events?limit=1001`)).status).toBe(400);
  });
});

describe('events: stream', () => {
  it('a stream opened before send sees the echo (SDK)', async () => {
    const sid = await newSession();
    const stream = await client.beta.sessions.events.stream(sid);
    const echo = send(sid, 'ping me');
    const sentId = (await echo).data![0].id;
    let found: Anthropic.Beta.Sessions.BetaManagedAgentsStreamSessionEvents | undefined;
    for await (const e of stream) {
      if (e.type === 'user.message' && (e as any).id === sentId) {
        found = e;
        break;
      }
    }
    expect(found).toMatchObject({ type: 'user.message', content: [{ type: 'text', text: 'ping me' }] });
  });

  it('every frame has an event: line equal to its type, keep-alive pings, and no replay by default', async () => {
    const sid = await newSession();
    await send(sid, 'before the stream');
    // The runtime may keep writing (its model is unreachable here), so "no replay" means: nothing
    // that was already in the history when the stream opened comes down the stream.
    const history = new Set<string>();
    for await (const e of client.beta.sessions.events.list(sid)) history.add(e.id);
    const s = await openSse(streamUrl(sid), p.apiKey);
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(s.headers.get('request-id')).toMatch(/^req_/);
    const pings = await s.until((f) => f.event === 'ping', 3000);
    expect(pings.filter((f) => f.id !== undefined && history.has(f.id))).toEqual([]);
    const id = (await send(sid, 'after')).data![0].id;
    const frames = await s.until((f) => f.id === id);
    s.close();
    for (const f of frames.filter(notPing)) expect(f.event).toBe(JSON.parse(f.data).type);
    expect(frames.filter(notPing).map((f) => JSON.parse(f.data).content?.[0]?.text)).not.toContain('before the stream');
  });

  it('validates event_deltas[]', async () => {
    const sid = await newSession();
    const ok = await openSse(streamUrl(sid, '?event_deltas[]=agent.message&event_deltas[]=agent.thinking'), p.apiKey);
    expect(ok.status).toBe(200);
    ok.close();
    const bad = await raw(p, 'GET', `/v1/sessions/${sid}/events/stream?event_deltas[]=user.message`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.type).toBe('invalid_request_error');
    await expect(client.beta.sessions.events.stream('sesn_01none')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it.each([
    ['Last-Event-ID', (sid: string, id: string) => ({ url: streamUrl(sid), headers: { 'last-event-id': id } })],
    ['?after_id=', (sid: string, id: string) => ({ url: streamUrl(sid, `?after_id=${id}`), headers: {} })],
  ])('a dropped stream resumed with %s loses and duplicates nothing', async (_how, resume) => {
    const sid = await newSession();
    const first = await openSse(streamUrl(sid), p.apiKey);
    const a = (await send(sid, 'a')).data![0].id;
    const before = (await first.until((f) => f.id === a)).filter(notPing);
    first.close(); // dropped after `a`
    await send(sid, 'b', 'c'); // sent while nobody listened

    const r = resume(sid, before.at(-1)!.id!);
    const second = await openSse(r.url, p.apiKey, r.headers);
    expect(second.status).toBe(200);
    const d = (await send(sid, 'd')).data![0].id; // sent after the resume: tailed live
    const after = (await second.until((f) => f.id === d)).filter(notPing);
    second.close();

    const history = (await collect(client.beta.sessions.events.list(sid))).map((e) => e.id);
    const received = [...before, ...after].map((f) => f.id);
    expect(new Set(received).size).toBe(received.length);
    expect(received).toEqual(history.slice(0, history.indexOf(d) + 1));
  });

  it('an unknown Last-Event-ID is a 400', async () => {
    const sid = await newSession();
    const r = await raw(p, 'GET', `/v1/sessions/${sid}/events/stream`, { headers: { 'last-event-id': 'sevt_01unknown' } });
    expect(r.status).toBe(400);
    expect(r.json.type).toBe('error');
  });

  it('client disconnects are cleaned up: many dropped streams leave the server serving', async () => {
    const sid = await newSession();
    for (let i = 0; i < 20; i++) (await openSse(streamUrl(sid), p.apiKey)).close();
    const s = await openSse(streamUrl(sid), p.apiKey);
    const id = (await send(sid, 'still here')).data![0].id;
    expect((await s.until((f) => f.id === id)).length).toBeGreaterThan(0);
    s.close();
  });
});
