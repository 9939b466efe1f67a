import { existsSync } from 'node:fs';
import path from 'node:path';
import { runFlowProgram, sdkFlowTest } from '../support/sdk-flow.js';

/**
 * The seed's flows with the official Python SDK (`anthropic`, pinned in python-seed/requirements.txt)
 * against a real Paddock: python-seed/seed_flow.py, run by the venv that .ci/run makes at .venv-sdk.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const PYTHON = path.join(ROOT, '.venv-sdk/bin/python');

sdkFlowTest('Python', {
  ready: existsSync(PYTHON),
  why: '.venv-sdk is missing (make it as .ci/run does: python3 -m venv .venv-sdk && .venv-sdk/bin/pip install -r test/conformance/python-seed/requirements.txt)',
  run: (env) => runFlowProgram(PYTHON, [path.join(import.meta.dirname, 'python-seed/seed_flow.py')], { env }),
});
