import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';
import { events, FAST_RUNTIME, idles, say, waitFor, waitForIdle, type Ev } from './harness.js';

/**
 * Crash recovery: the server is SIGKILLed mid-turn at different points and restarted on the same
 * data dir. Afterwards every log must be whole: no duplicate, no span or tool call left open,
 * every user message seen by the model, every session idle with its work done.
 */
let model: ScriptedModel;
let p: PaddockProcess;
let dataDir: string;
let envId: string;
let agentCounter = 0;

const start = async () => {
  p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url, ...FAST_RUNTIME }, dataDir });
  dataDir = p.dataDir;
};
const restart = async () => {
  await p.kill();
  await start();
};

beforeAll(async () => {
  model = await startScriptedModel();
  await start();
  envId = (await p.client.beta.environments.create({ name: 'recovery-env' })).id;
});
afterAll(async () => {
  await p?.stop();
  await model?.close();
});

async function session(agent: Record<string, unknown> = {}): Promise<string> {
  const a = await p.client.beta.agents.create({ name: `recovery-${++agentCounter}`, model: 'claude-sonnet-4-6', ...agent } as any);
  return (await p.client.beta.sessions.create({ agent: a.id, environment_id: envId })).id;
}

const texts = (body: any): string[] => body.messages.flatMap((m: any) => m.content.filter((b: any) => b.type === 'text').map((b: any) => b.text));

/** Polls a condition on the host (a file the sandbox writes), bounded. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The log invariants a crash must never break. */
function checkWhole(log: Ev[], sentTexts: string[]): void {
  expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
  const starts = log.filter((e) => e.type === 'span.model_request_start');
  const ends = log.filter((e) => e.type === 'span.model_request_end');
  expect(ends.map((e) => e.model_request_start_id).sort()).toEqual(starts.map((e) => e.id).sort());
  for (const s of starts) expect(log.indexOf(ends.find((e) => e.model_request_start_id === s.id)!)).toBeGreaterThan(log.indexOf(s));
  for (const use of log.filter((e) => e.type === 'agent.tool_use'))
    expect(log.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id)).toHaveLength(1);
  for (const use of log.filter((e) => e.type === 'agent.custom_tool_use')) {
    expect(log.filter((e) => e.type === 'user.custom_tool_result' && e.custom_tool_use_id === use.id).length).toBeGreaterThanOrEqual(1);
  }
  const last = log.at(-1)!;
  expect(last).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  // Every sent message reached the model.
  const seen = new Set(model.requests.flatMap((r) => (r.body.stream ? texts(r.body) : [])));
  for (const t of sentTexts) expect(seen.has(t), `model never saw "${t}"`).toBe(true);
}

describe('recovery after kill -9', () => {
  it('mid model stream, with messages queued behind it: the request is made again, queued input is processed', async () => {
    const sid = await session();
    model.enqueue({ content: [{ type: 'text', text: 'this stream is cut by a crash' }], hang: true });
    const sent = ['start working', 'queued one', 'queued two'];
    await say(p.client, sid, sent[0]);
    await waitFor(p.client, sid, (l) => l.some((e) => e.type === 'span.model_request_start'));
    await say(p.client, sid, sent[1]);
    await say(p.client, sid, sent[2]);
    await restart();
    const log = await waitForIdle(p.client, sid);
    checkWhole(log, sent);
    expect(idles(log)).toHaveLength(1);
    expect((await p.client.beta.sessions.retrieve(sid)).status).toBe('idle');
  });

  it('between a custom tool use and its result: the wait survives restarts and the result resumes the turn', async () => {
    const sid = await session({ tools: [{ type: 'custom', name: 'lookup', description: 'd', input_schema: { type: 'object' } }] });
    model.enqueue({ content: [{ type: 'tool_use', name: 'lookup', input: { q: 1 } }] });
    await say(p.client, sid, 'look it up');
    let log = await waitForIdle(p.client, sid);
    const use = log.find((e) => e.type === 'agent.custom_tool_use')!;
    await restart();
    await restart();
    log = await events(p.client, sid);
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'requires_action', event_ids: [use.id] } });
    model.enqueue({ content: [{ type: 'text', text: 'found it' }] });
    await p.client.beta.sessions.events.send(sid, {
      events: [{ type: 'user.custom_tool_result', custom_tool_use_id: use.id, content: [{ type: 'text', text: '42' }] }],
    });
    log = await waitForIdle(p.client, sid, 2);
    checkWhole(log, ['look it up']);
  });

  // Edits the SQLite file directly, so not against a Postgres cluster (PADDOCK_TEST_NODES).
  it.skipIf(Number(process.env.PADDOCK_TEST_NODES ?? 0) > 1)(
    'session usage is summed from the log: a usage write lost in a crash is made good when the session resumes',
    async () => {
      const sid = await session();
      model.enqueue({
        content: [{ type: 'text', text: 'first' }],
        usage: { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 5, cache_creation_input_tokens: 3 },
      });
      await say(p.client, sid, 'one');
      await waitForIdle(p.client, sid);
      model.enqueue({ content: [{ type: 'text', text: 'cut by a crash' }], hang: true });
      await say(p.client, sid, 'two');
      await waitFor(p.client, sid, (l) => l.filter((e) => e.type === 'span.model_request_start').length === 2);
      await p.kill();
      // The crash is taken to have struck between logging the first response and writing the
      // session's usage: the stored totals are wiped, as if that write never happened.
      const db = new Database(path.join(dataDir, 'paddock.db'));
      const zero = {
        input_tokens: 0,
        output_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
      };
      db.prepare(`UPDATE sessions SET data = json_set(data, '$.usage', json(?)) WHERE id = ?`).run(JSON.stringify(zero), sid);
      db.close();
      model.enqueue({
        content: [{ type: 'text', text: 'second' }],
        usage: { input_tokens: 200, output_tokens: 20, cache_read_input_tokens: 50, cache_creation_input_tokens: 0 },
      });
      await start();
      const log = await waitForIdle(p.client, sid);
      const ends = log.filter((e) => e.type === 'span.model_request_end' && !e.is_error);
      expect(ends.map((e) => e.model_usage.input_tokens)).toEqual([100, 200]);
      const s = await p.client.beta.sessions.retrieve(sid);
      expect(s.usage).toMatchObject({
        input_tokens: 300,
        output_tokens: 30,
        cache_read_input_tokens: 55,
        cache_creation: { ephemeral_5m_input_tokens: 3, ephemeral_1h_input_tokens: 0 },
      });
      expect(s.stats.active_seconds).toBeGreaterThan(0);
    },
  );

  it('during a bash call that has taken effect: the call is not run again; its result says it was interrupted by a restart', async () => {
    const sid = await session({ tools: [{ type: 'agent_toolset_20260401' }] });
    // The witness: the command leaves a line in the workspace, then keeps running until the kill.
    model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo ran >> /workspace/witness.txt; sleep 5' } }] });
    model.enqueue({ content: [{ type: 'text', text: 'noted' }] });
    await say(p.client, sid, 'append a line');
    // The session's disk is a volume mounted at <session dir>/volume while its sandbox runs.
    const witness = path.join(dataDir, 'sandboxes', sid, 'volume', 'workspace', 'witness.txt');
    await until(() => existsSync(witness) && readFileSync(witness, 'utf8').length > 0, 'the bash call to write its line');
    const requestsBefore = model.requests.length;
    await restart();
    const log = await waitForIdle(p.client, sid);
    checkWhole(log, ['append a line']);
    expect(readFileSync(witness, 'utf8')).toBe('ran\n');
    const use = log.find((e) => e.type === 'agent.tool_use')!;
    const results = log.filter((e) => e.type === 'agent.tool_result' && e.tool_use_id === use.id);
    expect(results).toHaveLength(1);
    expect(results[0].is_error).toBe(true);
    expect((results[0].content[0] as { text: string }).text).toMatch(/interrupted by a restart/);
    // The model is told the same, and decides what to do next.
    const next = model.requests.slice(requestsBefore).find((r) => r.body.stream)!;
    expect(next.body.messages.at(-1).content[0]).toMatchObject({ type: 'tool_result', tool_use_id: use.id, is_error: true });
  });

  it('killed repeatedly at different points of tool-using turns: every log ends whole', async () => {
    const toolset = { tools: [{ type: 'agent_toolset_20260401' }] };
    const sids: string[] = [];
    const sent: string[] = [];
    // Each session's turn: a slow tool call, then a slow answer. Kills land at different points.
    model.setFallback((req) => {
      const last = req.body.messages.at(-1);
      const answered = last.content.some((b: any) => b.type === 'tool_result');
      return answered
        ? { content: [{ type: 'text', text: 'all done here' }], chunkDelayMs: 15 }
        : {
            content: [
              { type: 'text', text: 'let me run it' },
              { type: 'tool_use', name: 'bash', input: { command: 'echo hi' } },
            ],
            chunkDelayMs: 15,
          };
    });
    for (const delay of [0, 40, 90, 160, 260]) {
      const sid = await session(toolset);
      sids.push(sid);
      const text = `task after ${delay}ms`;
      sent.push(text);
      await say(p.client, sid, text);
      await new Promise((r) => setTimeout(r, delay));
      await restart();
    }
    for (const sid of sids) {
      const log = await waitForIdle(p.client, sid);
      checkWhole(
        log,
        sent.filter((t) => log.some((e) => e.type === 'user.message' && (e.content[0] as any).text === t)),
      );
      expect(log.filter((e) => e.type === 'agent.message' && (e.content[0] as any).text === 'all done here')).toHaveLength(1);
    }
    model.setFallback({});
  });
});
