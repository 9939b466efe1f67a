import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectModelSawFlow, runFlowProgram, startFlowServer, type FlowServer } from '../support/sdk-flow.js';

/**
 * The seed's flows with the official Python SDK (`anthropic`, pinned in python-seed/requirements.txt)
 * against a real Paddock: python-seed/seed_flow.py, run by the venv that .ci/run makes at .venv-sdk.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const PYTHON = path.join(ROOT, '.venv-sdk/bin/python');
const ready = existsSync(PYTHON);
const why =
  '.venv-sdk is missing (make it as .ci/run does: python3 -m venv .venv-sdk && .venv-sdk/bin/pip install -r test/conformance/python-seed/requirements.txt)';
if (!ready) console.warn(`seed-flow-python: skipped because ${why}`);

let s: FlowServer | undefined;
beforeAll(async () => {
  if (ready) s = await startFlowServer();
});
afterAll(async () => {
  await s?.close();
});

// In CI the venv is made by .ci/run: its absence is a failure there, not a skip.
it.skipIf(!ready && !process.env.CI)(
  'runs the seed flows with the official Python SDK',
  async () => {
    expect(ready, why).toBe(true);
    const stdout = await runFlowProgram(PYTHON, [path.join(import.meta.dirname, 'python-seed/seed_flow.py')], { env: s!.env });
    expect(stdout).toContain('python seed flow: ok');
    expectModelSawFlow(s!.model);
  },
  240_000,
);
