// Rebuilds dist/ when any file under src/ is newer than the last build, so `npm start` and
// `npm test` always run the current code without a separate build step.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const stamp = 'dist/.build-stamp';
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (newest('src') > built || statSync('tsconfig.json').mtimeMs > built) {
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  } catch {
    // tsc still emits JavaScript when types are wrong; `npm test` type-checks strictly on its own,
    // so here a type error is reported without stopping the build.
    process.stderr.write('build-if-needed: type errors above (JavaScript was emitted anyway)\n');
  }
  writeFileSync(stamp, String(Date.now()));
}
