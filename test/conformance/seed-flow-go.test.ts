import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';

/**
 * The seed's flows with the official Go SDK (github.com/anthropics/anthropic-sdk-go), the SDK the
 * seed document is written for: go-seed/main.go runs them against a real Paddock process.
 */

const run = promisify(execFile);
const GO_DIR = path.join(import.meta.dirname, 'go-seed');
const hasGo = await run('go', ['version']).then(
  () => true,
  () => false,
);
if (!hasGo) console.warn('seed-flow-go: skipped because `go` is not on PATH (install Go to run the seed flow with the Go SDK)');

let p: PaddockProcess;

beforeAll(async () => {
  if (hasGo) p = await startPaddock();
});
afterAll(async () => {
  await p?.stop();
});

it.skipIf(!hasGo)(
  'runs the seed flows with the official Go SDK',
  async () => {
    const bin = path.join(mkdtempSync(path.join(tmpdir(), 'go-seed-')), 'go-seed');
    await run('go', ['build', '-o', bin, '.'], { cwd: GO_DIR });
    const { ANTHROPIC_AUTH_TOKEN: _ignored, ...env } = process.env;
    const { stdout } = await run(bin, [], { env: { ...env, ANTHROPIC_BASE_URL: p.url, ANTHROPIC_API_KEY: p.apiKey } }).catch(
      (err: { stdout?: string; stderr?: string }) => {
        throw new Error(`go seed flow failed:\n${err.stderr ?? ''}${err.stdout ?? ''}`);
      },
    );
    expect(stdout).toContain('go seed flow: ok');
  },
  300_000,
);
