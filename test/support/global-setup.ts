import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Conformance tests run the built server as a real process, so build once before any test. */
export default function setup(): () => void {
  execFileSync(process.execPath, ['scripts/build-if-needed.mjs'], { stdio: 'inherit' });
  return unmountTestVolumes;
}

/**
 * Tests that kill a server with SIGKILL leave its session volumes mounted (a crashed Paddock reuses
 * them when the session runs again; a test's data dir never runs again). Unmount what tests left
 * under their temporary data dirs, so loop devices do not pile up on the machine.
 */
function unmountTestVolumes(): void {
  const prefixes = ['paddock-test-', 'paddock-sbx-'].map((p) => path.join(tmpdir(), p));
  let mountinfo: string;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((m): m is string => m !== undefined && prefixes.some((p) => m.startsWith(p)))
    .sort((a, b) => b.length - a.length);
  for (const m of points) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      /* busy or already gone: nothing more a teardown can do */
    }
  }
}
