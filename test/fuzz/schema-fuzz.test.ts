import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { hasCommand } from '../support/sdk-flow.js';

/**
 * The schema fuzz (run-fuzz.ts: schemathesis against a real Paddock), run in a network namespace
 * of its own that has nothing but loopback, so that what fuzzed objects point the server at (MCP
 * servers, token endpoints) reaches nothing outside this machine. `npm run test:fuzz`; .ci/run
 * runs it after `npm test` (it is left out of the main run, whose files it would slow down).
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const hasSt = existsSync(path.join(ROOT, '.venv-sdk/bin/st'));
const isolated = await hasCommand('unshare', ['--net', '--', 'ip', 'link', 'set', 'lo', 'up']);
const ready = hasSt && isolated;
const why = !hasSt
  ? '.venv-sdk has no schemathesis (install it as .ci/run does: .venv-sdk/bin/pip install -r test/fuzz/requirements.txt)'
  : 'a network namespace cannot be made here (`unshare --net` needs root or user namespaces, and `ip` from iproute2)';
if (!ready) console.warn(`schema-fuzz: skipped because ${why}`);

/** Runs `cmd` to its end within `timeoutMs` (then kills its process group), with everything it printed. */
function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

// In CI the tools are installed by .ci/run: a missing one is a failure there, not a skip.
it.skipIf(!ready && !process.env.CI)(
  'schemathesis finds no 5xx, no undocumented response and no unauthenticated access',
  async () => {
    expect(ready, why).toBe(true);
    const { code, out } = await run(
      'unshare',
      ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" --import tsx test/fuzz/run-fuzz.ts', process.execPath],
      540_000,
    );
    const report = out.length > 20_000 ? `…${out.slice(-20_000)}` : out;
    expect(code, report).toBe(0);
    // Every operation of the document was exercised, and the pinned objects were reached.
    const selected = /Selected: (\d+)\/(\d+)/.exec(out);
    expect(selected?.[1], report).toBe(selected?.[2]);
    expect(out, report).toMatch(new RegExp(`Tested: ${selected?.[1]}\\b`));
    expect(out).toMatch(/fuzz: [1-9]\d* events sent to the pinned session, [1-9]\d* model requests, doomed session deleted: true/);
  },
  600_000,
);
