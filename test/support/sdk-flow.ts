import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPaddock, type PaddockProcess } from './paddock.js';
import { startScriptedModel, type RecordedRequest, type ScriptedModel, type ScriptedResponse } from './scripted-model.js';

/**
 * What the SDK flow programs (python-seed/, java-seed/) run against: a real Paddock whose model is
 * the scripted Messages API. The programs know the script below and check what the agent says;
 * the wrapper then checks what the model was sent, so a value lost anywhere between an SDK and
 * the model fails the test.
 */

export const FLOW_GREETING = 'Hello from the scripted model, in a few chunks.';
/** The custom tool the flows give their agent, and the result they send back for it. */
export const FLOW_TOOL_RESULT = 'sunny, 21C';

/** Text of the last user turn the model was sent (string content or text/tool_result blocks). */
function lastUserTurn(body: { messages?: Array<{ role: string; content: unknown }> }): { text: string; toolResult?: string } {
  const last = body.messages?.at(-1);
  if (!last || typeof last.content === 'string') return { text: String(last?.content ?? '') };
  const blocks = last.content as Array<{ type: string; text?: string; content?: unknown }>;
  const result = blocks.find((b) => b.type === 'tool_result');
  const resultText = Array.isArray(result?.content) ? (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('') : undefined;
  return { text: blocks.map((b) => b.text ?? '').join(''), toolResult: resultText };
}

/** A question about the weather gets a call of the custom tool; its result is quoted back; anything else gets the greeting. */
export function flowScript(req: RecordedRequest): ScriptedResponse {
  const turn = lastUserTurn(req.body);
  if (turn.toolResult !== undefined) return { content: [{ type: 'text', text: `The tool said: ${turn.toolResult}` }] };
  if (/weather/i.test(turn.text))
    return {
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } },
      ],
    };
  return { content: [{ type: 'text', text: FLOW_GREETING }] };
}

export interface FlowServer {
  p: PaddockProcess;
  model: ScriptedModel;
  /** The environment for the SDK program: where Paddock is and its key, as the SDKs read them, and nothing else of ours. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startFlowServer(): Promise<FlowServer> {
  const model = await startScriptedModel();
  model.setFallback(flowScript);
  const p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url, PADDOCK_MODEL_RETRY_BASE_MS: '20', PADDOCK_MODEL_RETRY_MAX_MS: '100' } });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    ANTHROPIC_BASE_URL: p.url,
    ANTHROPIC_API_KEY: p.apiKey,
  };
  if (process.env.JAVA_HOME) env.JAVA_HOME = process.env.JAVA_HOME;
  return {
    p,
    model,
    env,
    close: async () => {
      await p.stop();
      await model.close();
    },
  };
}

/** Runs an SDK program to completion (bounded), failing with everything it printed. */
export async function runFlowProgram(file: string, args: string[], opts: { env: Record<string, string>; cwd?: string; timeoutMs?: number }): Promise<string> {
  const { stdout } = await promisify(execFile)(file, args, {
    env: opts.env,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 180_000,
    killSignal: 'SIGKILL',
    maxBuffer: 16 << 20,
  }).catch((err: { stdout?: string; stderr?: string; code?: unknown; signal?: unknown }) => {
    // Not err.message: it repeats the command line (a Java classpath is long) and the output.
    throw new Error(`${path.basename(file)} failed (exit ${String(err.code)}, signal ${String(err.signal)}):\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  });
  return stdout;
}

/** What the model must have been sent by the end of a flow: the user's words and the custom tool's result, each once. */
export function expectModelSawFlow(model: ScriptedModel): void {
  const turns = model.requests.map((r) => lastUserTurn(r.body));
  expect(turns.filter((t) => t.toolResult === FLOW_TOOL_RESULT)).toHaveLength(1);
  expect(turns.filter((t) => /weather/i.test(t.text))).toHaveLength(1);
  // The custom tool was offered to the model as the agent declared it.
  const withTools = model.requests.find((r) => Array.isArray(r.body.tools) && r.body.tools.some((t: { name?: string }) => t.name === 'get_weather'));
  expect(withTools, 'no model request offered get_weather').toBeDefined();
}

/** True when `cmd args` runs: the flow tests skip, saying why, when their toolchain is absent. */
export async function hasCommand(cmd: string, args: string[]): Promise<boolean> {
  return promisify(execFile)(cmd, args).then(
    () => true,
    () => false,
  );
}

/**
 * One SDK's seed flow as a test: a Paddock and scripted model for the file, the program run against
 * them, its `ok` line and what the model was sent checked. Without its toolchain the test is skipped
 * with `why` — except in CI, where .ci/run installs it, so its absence is a failure.
 */
export function sdkFlowTest(sdk: string, opts: { ready: boolean; why: string; run: (env: Record<string, string>) => Promise<string> }): void {
  if (!opts.ready) console.warn(`seed-flow-${sdk.toLowerCase()}: skipped because ${opts.why}`);
  let s: FlowServer | undefined;
  beforeAll(async () => {
    if (opts.ready) s = await startFlowServer();
  });
  afterAll(async () => {
    await s?.close();
  });
  it.skipIf(!opts.ready && !process.env.CI)(
    `runs the seed flows with the official ${sdk} SDK`,
    async () => {
      expect(opts.ready, opts.why).toBe(true);
      const stdout = await opts.run(s!.env);
      expect(stdout).toContain(`${sdk.toLowerCase()} seed flow: ok`);
      expectModelSawFlow(s!.model);
    },
    240_000,
  );
}
