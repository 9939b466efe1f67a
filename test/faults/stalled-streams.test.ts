import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { events, say, waitForIdle } from '../runtime/harness.js';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';
import { openSse, type RawStream, type SseFrame } from '../support/sse.js';
import { until } from '../support/until.js';

/**
 * Clients that open an event stream and then stop reading (a hung process, a laptop lid closed)
 * must not grow the server's memory: each stream's buffer is bounded, and a stream that stops
 * taking bytes is closed — its client resumes with Last-Event-ID and loses nothing. Meanwhile a
 * client that reads gets every event, once.
 */
const STALLED = 120;
const BIG_EVENTS = 50;
const BIG_TEXT = 'x'.repeat(100 * 1024);
/** Live heap growth allowed while the stalled clients hang on (the old code grew by hundreds of MiB). */
const HEAP_BOUND = 64 * 1024 * 1024;

let model: ScriptedModel;
let p: PaddockProcess;

beforeAll(async () => {
  model = await startScriptedModel();
  p = await startPaddock({
    nodeArgs: ['--expose-gc'],
    env: {
      ANTHROPIC_BASE_URL: model.url,
      PADDOCK_SANDBOX: 'none',
      PADDOCK_SSE_PING_MS: '100',
      PADDOCK_SSE_STALL_MS: '1000',
      PADDOCK_SSE_MAX_BUFFER_BYTES: String(256 * 1024),
    },
  });
});
afterAll(async () => {
  await p?.stop();
  await model?.close();
});

interface MemoryReport {
  heap_used_bytes: number;
  event_streams: number;
}

/** Asks the server for its memory report (SIGUSR2 → one `memory usage` log line, after a GC). */
async function memory(): Promise<MemoryReport> {
  const seen = p
    .output()
    .split('\n')
    .filter((l) => l.includes('"memory usage"')).length;
  p.proc.kill('SIGUSR2');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = p
      .output()
      .split('\n')
      .filter((l) => l.includes('"memory usage"'));
    if (lines.length > seen) return JSON.parse(lines[seen]) as MemoryReport;
    if (Date.now() > deadline) throw new Error('no memory report');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw TCP client that asks for the stream and then reads nothing until told to. */
function streamClient(path: string): Promise<net.Socket> {
  const u = new URL(p.url);
  const s = net.connect(Number(u.port), u.hostname);
  s.pause();
  s.on('error', () => {});
  return new Promise((resolve, reject) => {
    s.once('connect', () => {
      s.write(`GET ${path} HTTP/1.1\r\nhost: ${u.host}\r\nx-api-key: ${p.apiKey}\r\n\r\n`);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** The payload of a chunked HTTP body, as far as it arrived (a chunk cut off by the close counts as far as it got). */
function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(body.subarray(eol + 2, Math.min(eol + 2 + size, body.length)));
    at = eol + 2 + size + 2;
    if (at > body.length) break;
  }
  return Buffer.concat(out);
}

/** The complete SSE frames in what a raw client read (a frame cut off by a close is dropped, as SSE clients drop it). */
function framesOf(chunks: Buffer[]): SseFrame[] {
  const all = Buffer.concat(chunks);
  const text = dechunk(all.subarray(all.indexOf('\r\n\r\n') + 4)).toString('utf8');
  return text
    .split('\n\n')
    .slice(0, -1)
    .map((block) => {
      const f: SseFrame = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) f.event = line.slice(7);
        else if (line.startsWith('id: ')) f.id = line.slice(4);
        else if (line.startsWith('data: ')) f.data = line.slice(6);
      }
      return f;
    });
}

/** Everything a stalled client finally reads, up to the end of the connection. */
function readToEnd(s: net.Socket, timeoutMs = 20_000): Promise<{ frames: SseFrame[]; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    const done = () => {
      clearTimeout(timer);
      resolve({ frames: framesOf(chunks), ended });
    };
    const timer = setTimeout(done, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => {
      ended = true;
      done();
    });
    s.resume();
  });
}

/** A client on a slow link: it takes one socket buffer's worth of bytes every 50 ms. */
function readSlowly(s: net.Socket) {
  const chunks: Buffer[] = [];
  let ended = false;
  s.on('close', () => (ended = true));
  const timer = setInterval(() => {
    const chunk = s.read() as Buffer | null;
    if (chunk) chunks.push(chunk);
  }, 50);
  return {
    frames: () => framesOf(chunks),
    get ended() {
      return ended;
    },
    stop: () => {
      clearInterval(timer);
      s.destroy();
    },
  };
}

it('stalled stream clients neither grow the heap nor stay open; a reader and a resumed stream get every event exactly once', async () => {
  const client = p.client;
  const agent = await client.beta.agents.create({ name: 'stalled', model: 'claude-sonnet-4-6' });
  const env = await client.beta.environments.create({ name: 'stalled-env' });
  const sid = (await client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
  const stream = `/v1/sessions/${sid}/events/stream`;

  // Half of them asked for previews (which then pile up for them), half did not.
  const stalled = await Promise.all(Array.from({ length: STALLED }, (_, i) => streamClient(i % 2 ? `${stream}?event_deltas[]=agent.message` : stream)));
  const slow = readSlowly(await streamClient(`${stream}?event_deltas[]=agent.message`));
  const reader: RawStream = await openSse(`${p.url}${stream}?event_deltas[]=agent.message`, p.apiKey);
  const received: SseFrame[] = [];
  let reading = true;
  const readAll = (async () => {
    while (reading) {
      const f = await reader.next(60_000).catch(() => undefined);
      if (!f) break;
      received.push(f);
    }
  })();
  await until('the streams to open', memory, (m) => m.event_streams === STALLED + 2);
  const baseline = await memory();

  // Enough bytes to fill every stalled connection's socket buffers, so the server must hold
  // (or drop) what comes next…
  for (let i = 0; i < BIG_EVENTS; i++) {
    await client.beta.sessions.events.send(sid, { events: [{ type: 'user.message', content: [{ type: 'text', text: `${i} ${BIG_TEXT}` }] }] });
  }
  await waitForIdle(client, sid, 1, 60_000);
  // …and then a long answer streamed as thousands of previews.
  const long = Array.from({ length: 20_000 }, (_, i) => `w${i}`).join(' ');
  model.setFallback({ content: [{ type: 'text', text: long }] });
  await say(client, sid, 'a long answer, please');
  await waitForIdle(client, sid, 2, 60_000);
  const during = await memory();
  await say(client, sid, 'and another');
  await waitForIdle(client, sid, 3, 60_000);
  const after = await memory();

  expect(during.heap_used_bytes - baseline.heap_used_bytes).toBeLessThan(HEAP_BOUND);
  expect(after.heap_used_bytes - baseline.heap_used_bytes).toBeLessThan(HEAP_BOUND);
  // Every stalled stream was closed; the reader's and the slow client's are still open.
  await until('the stalled streams to be closed', memory, (m) => m.event_streams === 2);
  const closedForStalling = p
    .output()
    .split('\n')
    .filter((l) => l.includes('the client stopped reading'));
  expect(closedForStalling).toHaveLength(STALLED);

  const log = await events(client, sid);
  const ids = log.map((e) => e.id);
  const idsOf = (frames: SseFrame[]) => frames.filter((f) => f.id).map((f) => f.id);
  await until(
    'the reader to catch up',
    async () => received.filter((f) => f.id).length,
    (n) => n >= ids.length,
    { timeoutMs: 60_000 },
  );
  expect(idsOf(received)).toEqual(ids);
  expect(received.some((f) => f.event === 'event_delta')).toBe(true);
  // The slow client was never taken for a stalled one: it gets everything on its one connection.
  await until(
    'the slow client to catch up',
    async () => idsOf(slow.frames()).length,
    (n) => n >= ids.length,
    { timeoutMs: 120_000 },
  );
  expect(slow.ended).toBe(false);
  expect(idsOf(slow.frames())).toEqual(ids);
  slow.stop();

  // A stalled client that wakes up reads what reached it, finds the stream closed, resumes with
  // Last-Event-ID, and has every event exactly once.
  for (const s of [stalled[0], stalled[1]]) {
    const { frames, ended } = await readToEnd(s);
    expect(ended).toBe(true);
    const before = frames.filter((f) => f.id).map((f) => f.id!);
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(ids.length);
    const resumed = await openSse(`${p.url}${stream}`, p.apiKey, { 'last-event-id': before.at(-1)! });
    const rest = (await resumed.until((f) => f.id === ids.at(-1), 30_000)).filter((f) => f.id).map((f) => f.id!);
    resumed.close();
    expect([...before, ...rest]).toEqual(ids);
  }

  reading = false;
  reader.close();
  await readAll;
  for (const s of stalled) s.destroy();
}, 240_000);
