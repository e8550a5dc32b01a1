/**
 * Engine benchmark (not a test): a 1,000-instance pipeline of trivial stages (500 `gen`
 * instances reading a 300-file external folder, 500 `use` instances downstream) in a
 * temp dir, run once, then the median wall time of a no-op `dag run` and of `dag status`
 * through the real CLI. Also reports whether the no-op run re-hashed anything (the stat
 * cache file is only rewritten when a file had to be hashed).
 *
 *   node --import tsx bench/engine.ts [instancesPerStage=500] [repeats=5]
 *   (DAG_BENCH_KEEP=1 keeps the temp project for inspection)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const n = Number(process.argv[2] ?? 500);
const repeats = Number(process.argv[3] ?? 5);
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dag.js');

const dir = mkdtempSync(join(tmpdir(), 'dag-bench-'));
mkdirSync(join(dir, 'kinds'));
mkdirSync(join(dir, 'no-stages'));
mkdirSync(join(dir, 'data'));
for (let i = 0; i < 300; i++) writeFileSync(join(dir, 'data', `img-${i}.txt`), `pixel data ${i}\n`.repeat(50));
writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
writeFileSync(
  join(dir, 'kinds', 'trivial.ts'),
  `import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  kind: 'trivial',
  doc: 'bench kind',
  reuseWorker: true,
  params: { k: { type: 'number', doc: 'k' }, data: { type: 'path', doc: 'folder' } },
  async run(ctx) {
    const up = ctx.inputs.map((u) => readFileSync(u.files['out.txt'], 'utf8')).join('');
    writeFileSync(join(ctx.outDir, 'out.txt'), 'k=' + ctx.params.k + up);
  },
};
`,
);
const ks = Array.from({ length: n }, (_, i) => i).join(', ');
writeFileSync(
  join(dir, 'pipeline.yaml'),
  `version: 1
plugins: [kinds/trivial.ts]
stages:
  gen:
    uses: trivial
    matrix: { k: [${ks}] }
    params: { k: "\${k}", data: data }
  use:
    uses: trivial
    needs: [gen]
    matrix: { k: [${ks}] }
    params: { k: "\${k}" }
`,
);
const env = { ...process.env, DAG_STAGES_DIR: join(dir, 'no-stages'), NO_COLOR: '1' };

// CPU time (user + sys) of the child is reported besides wall time: on a shared, loaded
// machine wall time mostly measures the wait for a core.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function dag(args: string[]): { ms: number; cpuMs: number; code: number | null; out: string } {
  const t = process.hrtime.bigint();
  const r = TIME
    ? spawnSync(TIME, ['-f', 'CPU %U %S', process.execPath, BIN, ...args], { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`dag ${args.join(' ')} exited ${r.status}\n${r.stderr}\n${r.stdout.slice(-2000)}`);
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  const cpuMs = m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN;
  return { ms, cpuMs, code: r.status, out: r.stdout };
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`dag engine bench: ${2 * n} instances, ${availableParallelism()} cores, in ${dir}`);
const first = dag(['run', '--reporter', 'plain']);
console.log(`first run (forks reusable workers): ${(first.ms / 1000).toFixed(1)} s`);
const statFile = join(dir, 'cache', 'stat-cache.json');
// The external folder was just written: the stat cache does not trust files modified in the
// last 2 s (racy mtimes), so let them age once before measuring.
await new Promise((r) => setTimeout(r, 2500));
dag(['run', '--reporter', 'plain']);
const before = statSync(statFile).mtimeMs;
function measure(label: string, args: string[], check?: (out: string) => void): void {
  const runs = Array.from({ length: repeats }, () => {
    const r = dag(args);
    check?.(r.out);
    return r;
  });
  const wall = runs.map((r) => r.ms);
  const cpu = runs.map((r) => r.cpuMs);
  console.log(
    `${label.padEnd(14)}: median wall ${median(wall).toFixed(0)} ms, median CPU ${median(cpu).toFixed(0)} ms  (wall: ${wall.map((x) => x.toFixed(0)).join(', ')})`,
  );
}
measure('no-op dag run', ['run', '--reporter', 'plain'], (out) => {
  if (!/0 ran, \d+ cached/.test(out)) throw new Error(`no-op run ran something:\n${out.slice(-500)}`);
});
const rehashed = statSync(statFile).mtimeMs !== before;
measure('dag status', ['status']);
measure('dag --version', ['--version']);
console.log('(dag --version is the floor: node + tsx start-up, no pipeline)');
console.log(`external files re-hashed during no-op runs: ${rehashed ? 'YES (stat cache rewritten)' : 'no'}`);
if (!process.env.DAG_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
