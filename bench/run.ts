import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `npm run bench`: runs every `bench/*.bench.ts` module in turn (or only those whose file name
 * contains one of the command-line arguments) and prints one table of their results.
 * A module exports `default { name, run() }`; `run` starts what it needs, measures, stops it
 * again, and answers summarised numbers (medians, percentiles, rates).
 */
export interface BenchResult {
  metric: string;
  value: number;
  unit: string;
}
export interface Bench {
  name: string;
  run(): Promise<BenchResult[]>;
}

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const rows: Array<[string, string, string, string]> = [];
let failed = false;
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { default: Bench };
  const bench = mod.default;
  const started = performance.now();
  process.stderr.write(`bench ${bench.name} (${file}) …\n`);
  try {
    for (const r of await bench.run()) rows.push([bench.name, r.metric, format(r.value), r.unit]);
    process.stderr.write(`bench ${bench.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`bench ${bench.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    rows.push([
      bench.name,
      'FAILED',
      '-',
      String(err instanceof Error ? err.message : err)
        .split('\n')[0]
        .slice(0, 80),
    ]);
  }
}

function format(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

const header: [string, string, string, string] = ['bench', 'metric', 'value', 'unit'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => `| ${r.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
console.log([line(header), `|${widths.map((w, i) => (i === 2 ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)].join('\n'));
process.exit(failed ? 1 : 0);
