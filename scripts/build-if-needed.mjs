// Rebuilds dist/ when any file under src/ is newer than the last build, so `npm start` and
// `npm test` always run the current code without a separate build step.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(stamp)}, String(Date.now()))`]);
}
