import { execFileSync } from 'node:child_process';

/** Conformance tests run the built server as a real process, so build once before any test. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-if-needed.mjs'], { stdio: 'inherit' });
}
