import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectModelSawFlow, hasCommand, runFlowProgram, startFlowServer, type FlowServer } from '../support/sdk-flow.js';

/**
 * The seed's flows with the official Java SDK (com.anthropic:anthropic-java, pinned in
 * java-seed/pom.xml) against a real Paddock: java-seed/src/main/java/paddock/SeedFlow.java, built
 * by .ci/run with Maven, which also writes the runtime classpath to target/classpath.
 */

const DIR = path.join(import.meta.dirname, 'java-seed');
const CLASSPATH_FILE = path.join(DIR, 'target/classpath');
const hasJava = await hasCommand('java', ['-version']);
const built = existsSync(CLASSPATH_FILE) && existsSync(path.join(DIR, 'target/classes/paddock/SeedFlow.class'));
const ready = hasJava && built;
const why = hasJava
  ? 'java-seed is not built (build it as .ci/run does: cd test/conformance/java-seed && mvn -q -B compile dependency:build-classpath)'
  : '`java` is not on PATH';
if (!ready) console.warn(`seed-flow-java: skipped because ${why}`);

let s: FlowServer | undefined;
beforeAll(async () => {
  if (ready) s = await startFlowServer();
});
afterAll(async () => {
  await s?.close();
});

// In CI Java and the build come from .ci/run: their absence is a failure there, not a skip.
it.skipIf(!ready && !process.env.CI)(
  'runs the seed flows with the official Java SDK',
  async () => {
    expect(ready, why).toBe(true);
    const classpath = `${path.join(DIR, 'target/classes')}:${readFileSync(CLASSPATH_FILE, 'utf8').trim()}`;
    const stdout = await runFlowProgram('java', ['-cp', classpath, 'paddock.SeedFlow'], { env: s!.env });
    expect(stdout).toContain('java seed flow: ok');
    expectModelSawFlow(s!.model);
  },
  240_000,
);
