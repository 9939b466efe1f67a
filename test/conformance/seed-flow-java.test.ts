import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { hasCommand, runFlowProgram, sdkFlowTest } from '../support/sdk-flow.js';

/**
 * The seed's flows with the official Java SDK (com.anthropic:anthropic-java, pinned in
 * java-seed/pom.xml) against a real Paddock: java-seed/src/main/java/paddock/SeedFlow.java, built
 * by .ci/run with Maven, which also writes the runtime classpath to target/classpath.
 */

const DIR = path.join(import.meta.dirname, 'java-seed');
const CLASSPATH_FILE = path.join(DIR, 'target/classpath');
const hasJava = await hasCommand('java', ['-version']);
const built = existsSync(CLASSPATH_FILE) && existsSync(path.join(DIR, 'target/classes/paddock/SeedFlow.class'));

sdkFlowTest('Java', {
  ready: hasJava && built,
  why: hasJava
    ? 'java-seed is not built (build it as .ci/run does: cd test/conformance/java-seed && mvn -q -B compile dependency:build-classpath)'
    : '`java` is not on PATH',
  run: (env) => {
    const classpath = `${path.join(DIR, 'target/classes')}:${readFileSync(CLASSPATH_FILE, 'utf8').trim()}`;
    return runFlowProgram('java', ['-cp', classpath, 'paddock.SeedFlow'], { env });
  },
});
