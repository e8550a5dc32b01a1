/**
 * Start-up of `dag`: compiled JavaScript (scripts/build.mjs) beside the tsx baseline
 * (DAG_NO_BUILD=1: the sources transpiled at every start), measured in the same run.
 *
 *   node --import tsx bench/startup.ts [repeats=5]
 *
 * Prints the median wall time and the median CPU time (user + sys, from /usr/bin/time) of:
 * - `node -e 0` and `npx <a trivial bin>`: the floors nothing of ours can go below;
 * - `node bin/dag.js --version` and `npx dag --version`;
 * - a warm `dag run` of the default pipeline.yaml (every instance cached; run
 *   `npx dag run` once first), through node and through npx;
 * - a worker's start-up: a fresh Node importing one stage module (what a worker process
 *   does before the stage runs), for every built-in stage kind.
 * On a shared machine wall times swing with the load; CPU time is the steadier figure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPEATS = Number(process.argv[2] ?? 5);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface Sample {
  wall: number;
  cpu: number | null;
}

function once(cmd: string[], env: NodeJS.ProcessEnv, cwd: string): Sample {
  const argv = TIME ? [TIME, '-f', '@@%U %S', ...cmd] : cmd;
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env, encoding: 'utf8' });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`);
  const m = /@@([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : null };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function measure(cmd: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): { wall: number; cpu: number | null } {
  const full = { ...process.env, ...env };
  once(cmd, full, cwd); // warm-up (and the build, for the compiled rows)
  const xs = Array.from({ length: REPEATS }, () => once(cmd, full, cwd));
  const cpus = xs.map((x) => x.cpu).filter((c): c is number => c !== null);
  return { wall: median(xs.map((x) => x.wall)), cpu: cpus.length ? median(cpus) : null };
}

const fmt = (s: number | null): string => (s === null ? '   n/a' : `${s.toFixed(3)}s`.padStart(7));

function row(label: string, compiled: { wall: number; cpu: number | null } | null, tsx: { wall: number; cpu: number | null } | null, target = ''): void {
  const c = compiled ? `${fmt(compiled.wall)} ${fmt(compiled.cpu)}` : ' '.repeat(15);
  const t = tsx ? `${fmt(tsx.wall)} ${fmt(tsx.cpu)}` : ' '.repeat(15);
  console.log(`${label.padEnd(38)} ${c}   ${t}   ${target}`);
}

const TSX_ENV = { DAG_NO_BUILD: '1' };
const DAG = join(ROOT, 'bin', 'dag.js');

console.log(`dag start-up, median of ${REPEATS} (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
console.log(`${''.padEnd(38)} ${'compiled: wall     cpu'.padEnd(15)}   ${'tsx: wall      cpu'.padEnd(15)}   target`);

row('node -e 0 (floor)', measure([process.execPath, '-e', '0']), null);
const npxDir = mkdtempSync(join(tmpdir(), 'dag-npx-floor-'));
try {
  writeFileSync(join(npxDir, 'package.json'), '{"name":"floor","version":"1.0.0","private":true}\n');
  writeFileSync(join(npxDir, 'hello.js'), '#!/usr/bin/env node\n');
  mkdirSync(join(npxDir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync('../../hello.js', join(npxDir, 'node_modules', '.bin', 'hello'));
  spawnSync('chmod', ['+x', join(npxDir, 'hello.js')]);
  row('npx hello (npx floor, empty bin)', measure(['npx', 'hello'], {}, npxDir), null);
} finally {
  rmSync(npxDir, { recursive: true, force: true });
}
row('node bin/dag.js --version', measure([process.execPath, DAG, '--version']), measure([process.execPath, DAG, '--version'], TSX_ENV));
row('npx dag --version', measure(['npx', 'dag', '--version']), measure(['npx', 'dag', '--version'], TSX_ENV), '< 0.3 s');

const status = spawnSync(process.execPath, [DAG, 'status', '--json'], { cwd: ROOT, encoding: 'utf8' });
const notCached = status.stdout.split('\n').filter((l) => l && !l.includes('"kind":"cached"')).length;
if (notCached > 0) {
  console.log(`warm dag run: skipped, ${notCached} instances of pipeline.yaml are not cached (run \`npx dag run\` first)`);
} else {
  const run = ['run', '--reporter', 'plain'];
  row('node bin/dag.js run (94 cached)', measure([process.execPath, DAG, ...run]), measure([process.execPath, DAG, ...run], TSX_ENV));
  row('npx dag run (94 cached)', measure(['npx', 'dag', ...run]), measure(['npx', 'dag', ...run], TSX_ENV), '< 0.5 s');
}

// A worker's start-up: Node plus the stage module (compiled vs through tsx).
const { compiledEntry } = (await import(pathToFileURL(join(ROOT, 'scripts', 'build.mjs')).href)) as { compiledEntry: () => Promise<string | null> };
const entry = await compiledEntry();
const buildRoot = entry ? resolve(dirname(entry), '..') : null;
for (const f of readdirSync(join(ROOT, 'stages')).filter((n) => n.endsWith('.ts')).sort()) {
  const kind = f.replace(/\.ts$/, '');
  const js = buildRoot ? join(buildRoot, 'stages', `${kind}.js`) : null;
  const compiled = js && existsSync(js) ? measure([process.execPath, '--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(js).href)})`]) : null;
  const tsx = measure([process.execPath, '--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(join(ROOT, 'stages', f)).href)})`]);
  row(`worker start-up: ${kind}`, compiled, tsx, kind === 'finetune' ? '< 0.5 s' : '');
}
