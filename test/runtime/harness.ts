import type Anthropic from '@anthropic-ai/sdk';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';

export type Ev = Anthropic.Beta.Sessions.BetaManagedAgentsSessionEvent & Record<string, any>;

/** Env that keeps retries and backoff short enough for tests. */
export const FAST_RUNTIME = { PADDOCK_MODEL_RETRY_BASE_MS: '20', PADDOCK_MODEL_RETRY_MAX_MS: '100', PADDOCK_MODEL_MAX_RETRIES: '2' };

export interface Harness {
  p: PaddockProcess;
  model: ScriptedModel;
  client: Anthropic;
  envId: string;
  close(): Promise<void>;
}

/** A real Paddock process whose model is a scripted Messages API server. */
export async function harness(env: Record<string, string> = {}, dataDir?: string): Promise<Harness> {
  const model = await startScriptedModel();
  const p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url, ...FAST_RUNTIME, ...env }, dataDir });
  const envId = (await p.client.beta.environments.create({ name: `env-${Math.random().toString(36).slice(2)}` })).id;
  return {
    p,
    model,
    client: p.client,
    envId,
    close: async () => {
      await p.stop();
      await model.close();
    },
  };
}

let n = 0;
export async function newSession(h: Pick<Harness, 'client' | 'envId'>, agent: Record<string, unknown> = {}): Promise<string> {
  const a = await h.client.beta.agents.create({
    name: `agent-${++n}-${Date.now()}`,
    model: 'claude-sonnet-4-6',
    system: 'You are a test agent.',
    ...agent,
  } as any);
  return (await h.client.beta.sessions.create({ agent: a.id, environment_id: h.envId })).id;
}

export async function events(client: Anthropic, sessionId: string): Promise<Ev[]> {
  const out: Ev[] = [];
  for await (const e of client.beta.sessions.events.list(sessionId)) out.push(e as Ev);
  return out;
}

export function say(client: Anthropic, sessionId: string, text: string) {
  return client.beta.sessions.events.send(sessionId, { events: [{ type: 'user.message', content: [{ type: 'text', text }] }] });
}

/** Polls the log until `pred` holds (the log is the truth; no sleeps on wall-clock assumptions). */
export async function waitFor(client: Anthropic, sessionId: string, pred: (log: Ev[]) => boolean, timeoutMs = 20_000): Promise<Ev[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await events(client, sessionId);
    if (pred(log)) return log;
    if (Date.now() > deadline)
      throw new Error(`timed out; log was:\n${log.map((e) => `${e.type} ${JSON.stringify((e as any).stop_reason ?? '')}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The number of `session.status_idle` events so far. */
export const idles = (log: Ev[]) => log.filter((e) => e.type === 'session.status_idle');

/** Waits for the `count`-th idle. */
export function waitForIdle(client: Anthropic, sessionId: string, count = 1, timeoutMs?: number): Promise<Ev[]> {
  return waitFor(client, sessionId, (log) => idles(log).length >= count && log[log.length - 1].type === 'session.status_idle', timeoutMs);
}

export const types = (log: Ev[]) => log.map((e) => e.type);

/** The events of a turn that is one user message answered with text. */
export const TEXT_TURN = [
  'user.message',
  'session.status_running',
  'span.model_request_start',
  'agent.message',
  'span.model_request_end',
  'session.status_idle',
];
