/**
 * Chaos run (issue 13), not part of `npm test`: treats `dag` as a hostile user would and
 * prints counts.
 *
 *   node --import tsx scripts/chaos.ts [--pipeline FILE] [--kills N] [--flips N] [--concurrent N] [--seed S]
 *
 * 1. kill -9: N times, start `dag run` on one cache and SIGKILL its whole process group
 *    at a random moment; after each kill check that `dag verify` finds nothing recorded
 *    that is partial or corrupted and that no finished instance was lost. Then finish the
 *    run and compare every output with an uninterrupted reference run (resumed fine-tunes
 *    must be bit-exact).
 * 2. flipped bytes: N times, flip one byte of a random referenced object; the next
 *    `dag run` must re-run its producer (reason `output corrupted`) and restore the same
 *    bytes, and `dag verify` must pass afterwards.
 * 3. concurrent runs: N `dag run`s on one fresh cache at once; all must succeed with the
 *    reference's bytes.
 * 4. bad input: a list of bad flags, environments and pipeline edits; each must exit
 *    non-zero with a message and no stack trace, before running anything when it is a
 *    configuration error.
 *
 * Default pipeline: a 28-instance miniature of pipeline.yaml (one target, two folds).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRng } from '../src/stats/rng.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DAG = join(ROOT, 'bin', 'dag.js');
const { values } = parseArgs({
  options: {
    pipeline: { type: 'string' },
    kills: { type: 'string', default: '8' },
    flips: { type: 'string', default: '8' },
    concurrent: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    'max-kill-s': { type: 'string', default: '40' },
  },
});
const rng = createRng(Number(values.seed));
const rand = (): number => rng.next();

const MINI = `version: 1
seed: 0
cache: cache
datasets:
  xray:  { family: radiology, classes: 2, count: 48, seed: 11 }
sources:
  natural: { family: natural, classes: 2, count: 48, seed: 21 }
  medical: { family: radiology, classes: 2, count: 48, seed: 22 }
folds: [1, 2]
random_inits: [1, 2]
stages:
  source-data:
    uses: preprocess
    matrix: { source: $sources }
    params: { adapter: synthetic, family: "\${source.family}", classes: "\${source.classes}", count: "\${source.count}", synthetic_seed: "\${source.seed}", size: 32, folds: 2 }
  pretrain:
    uses: pretrain
    needs: [source-data]
    matrix: { source: $sources }
    params: { variant: resnet-micro, epochs: 3, batch: 8, bnMomentum: 0.9 }
  preprocess:
    uses: preprocess
    matrix: { dataset: $datasets }
    params: { adapter: synthetic, family: "\${dataset.family}", classes: "\${dataset.classes}", count: "\${dataset.count}", synthetic_seed: "\${dataset.seed}", size: 32, folds: 2 }
  finetune:
    uses: finetune
    needs: [preprocess, pretrain]
    matrix: { dataset: $datasets, source: [natural, medical, random], freeze: [false, true], fold: $folds }
    exclude: [{ source: random, freeze: true }]
    params: { fold: "\${fold}", freeze: "\${freeze}", variant: resnet-micro, epochs: 3, headEpochs: 2, lr: 0.003, batch: 8, bnMomentum: 0.9 }
  extract-finetuned:
    uses: extract
    needs: [preprocess, finetune]
    matrix: { dataset: $datasets, source: [natural, medical], freeze: [false, true], fold: $folds }
    params: { fold: "\${fold}", maxPoints: 2000 }
  extract-source:
    uses: extract
    needs: [preprocess, pretrain]
    matrix: { dataset: $datasets, source: $sources, fold: $folds }
    params: { fold: "\${fold}", maxPoints: 2000 }
  extract-random:
    uses: extract
    needs: [preprocess]
    matrix: { dataset: $datasets, init: $random_inits, fold: $folds }
    params: { fold: "\${fold}", randomSeed: "\${init}", variant: resnet-micro, maxPoints: 2000 }
  cca:
    uses: cca
    needs: [extract-finetuned, extract-source, extract-random]
    matrix: { dataset: $datasets, fold: $folds }
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical }, targetPoints: 200, channels: 8, repeats: 2 }
  predsim:
    uses: predsim
    needs: [finetune]
    matrix: { dataset: $datasets }
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical } }
  correlate-gain:
    uses: correlate-gain
    needs: [finetune, cca]
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical }, resamples: 50, grid: 10 }
  report:
    uses: report
    needs: [correlate-gain, cca, predsim, pretrain]
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical } }
`;

const work = mkdtempSync(join(tmpdir(), 'dag-chaos-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const pipelineText = values.pipeline ? readFileSync(values.pipeline, 'utf8') : MINI;
writeFileSync(join(work, 'pipeline.yaml'), pipelineText);

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete e.NODE_TEST_CONTEXT;
  return e;
}
function dag(args: string[], extra: NodeJS.ProcessEnv = {}, cwd = work): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [DAG, ...args], { cwd, env: env(extra), encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const hasStack = (s: string): boolean => /^\s+at .+:\d+:\d+\)?$/m.test(s);

/** id -> {output -> digest} of the records of a cache (only ids the index points at). */
function manifest(cache: string): Map<string, Record<string, string>> {
  const m = new Map<string, Record<string, string>>();
  const runs = join(cache, 'runs');
  if (!existsSync(runs)) return m;
  for (const f of readdirSync(runs)) {
    try {
      const r = JSON.parse(readFileSync(join(runs, f), 'utf8')) as { id: string; outputs: Record<string, { digest: string }> };
      m.set(r.id, Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.digest])));
    } catch { /* verify counts it */ }
  }
  return m;
}

function log(s: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
}

// ------------------------------------------------------------------ reference
log(`chaos in ${work}; reference run`);
const REF = join(work, 'ref');
let t0 = Date.now();
const ref = dag(['run', '--cache', REF, '--reporter', 'plain']);
if (ref.code !== 0) throw new Error(`reference run failed:\n${ref.out}`);
const refRunMs = Date.now() - t0;
const refManifest = manifest(REF);
log(`reference: ${refManifest.size} instances in ${(refRunMs / 1000).toFixed(0)} s`);

const compare = (cache: string): { same: number; differ: string[]; missing: string[] } => {
  const m = manifest(cache);
  const differ: string[] = [];
  const missing: string[] = [];
  let same = 0;
  for (const [id, outs] of refManifest) {
    const o = m.get(id);
    if (!o) missing.push(id);
    else if (JSON.stringify(o) !== JSON.stringify(outs)) differ.push(`${id}: ${Object.keys(outs).filter((k) => o[k] !== outs[k]).join(', ')}`);
    else same++;
  }
  return { same, differ, missing };
};

// ------------------------------------------------------------------ 1. kill -9
const kills = Number(values.kills);
const K = join(work, 'kill');
const killStats = { kills: 0, verifyFailures: 0, lostFinished: 0, partialRecorded: 0 };
let finished = new Set<string>();
for (let i = 0; i < kills; i++) {
  const delay = 1000 + rand() * Number(values['max-kill-s']) * 1000;
  const child = spawn(process.execPath, [DAG, 'run', '--cache', K, '--reporter', 'plain'], { cwd: work, env: env(), detached: true, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  const timer = new Promise<'kill'>((res) => setTimeout(() => res('kill'), delay));
  const first = await Promise.race([exited, timer]);
  if (first === 'kill') {
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    await exited;
    killStats.kills++;
  }
  const v = dag(['verify', '--cache', K]);
  if (v.code !== 0) {
    killStats.verifyFailures++;
    log(`verify after kill ${i + 1} failed:\n${v.out}`);
  }
  const now = manifest(K);
  for (const id of finished) if (!now.has(id)) killStats.lostFinished++;
  for (const [id, outs] of now) {
    for (const d of Object.values(outs)) if (!existsSync(join(K, 'objects', d.slice(0, 2), d.slice(2)))) { killStats.partialRecorded++; log(`recorded but missing: ${id}`); }
  }
  finished = new Set(now.keys());
  log(`kill ${i + 1}/${kills} after ${(delay / 1000).toFixed(1)} s: ${first === 'kill' ? 'killed' : 'finished first'}; ${now.size}/${refManifest.size} recorded`);
  if (first !== 'kill') break;
}
t0 = Date.now();
const fin = dag(['run', '--cache', K, '--reporter', 'plain']);
const resumedLogs = [...refManifest.keys()].filter((id) => /^(finetune|pretrain)/.test(id)).filter((id) => /resuming after epoch/.test(dag(['log', id, '--cache', K]).out));
const killCmp = compare(K);
log(`after the kills: final run exit ${fin.code}; ${killCmp.same}/${refManifest.size} instances bit-identical to the reference, ${killCmp.differ.length} differ, ${killCmp.missing.length} missing; ${resumedLogs.length} trainings resumed from a checkpoint`);
for (const d of killCmp.differ) log(`  differs: ${d}`);

// ------------------------------------------------------------------ 2. flipped bytes
const flips = Number(values.flips);
const flipStats = { flips: 0, detected: 0, restored: 0, verifyClean: 0 };
for (let i = 0; i < flips; i++) {
  const m = manifest(K);
  const all = [...m.entries()].flatMap(([id, outs]) => Object.entries(outs).map(([p, d]) => ({ id, p, d })));
  const pick = all[Math.floor(rand() * all.length)]!;
  const file = join(K, 'objects', pick.d.slice(0, 2), pick.d.slice(2));
  const bytes = readFileSync(file);
  if (bytes.length === 0) continue;
  const at = Math.floor(rand() * bytes.length);
  bytes[at] = bytes[at]! ^ (1 << Math.floor(rand() * 8));
  chmodSync(file, 0o644);
  writeFileSync(file, bytes);
  flipStats.flips++;
  const r = dag(['run', '--cache', K, '--reporter', 'plain']);
  const esc = pick.id.replace(/[[\]]/g, '\\$&');
  if (new RegExp(`queued\\s+${esc} \\(output corrupted`).test(r.out)) flipStats.detected++;
  else log(`flip ${i + 1} in ${pick.id} ${pick.p} byte ${at} not detected:\n${r.out.split('\n').slice(-5).join('\n')}`);
  if (manifest(K).get(pick.id)?.[pick.p] === pick.d && readFileSync(file).equals(readFileSync(join(REF, 'objects', pick.d.slice(0, 2), pick.d.slice(2))))) flipStats.restored++;
  if (dag(['verify', '--cache', K]).code === 0) flipStats.verifyClean++;
}
log(`flipped bytes: ${flipStats.flips}; detected before use ${flipStats.detected}; same bytes restored ${flipStats.restored}; verify clean afterwards ${flipStats.verifyClean}`);

// ------------------------------------------------------------------ 3. concurrent runs
const conc = Number(values.concurrent);
const C = join(work, 'concurrent');
const starts = Array.from({ length: conc }, () =>
  new Promise<{ code: number | null; out: string }>((res) => {
    const c = spawn(process.execPath, [DAG, 'run', '--cache', C, '--reporter', 'plain'], { cwd: work, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => res({ code, out }));
  }),
);
const concResults = await Promise.all(starts);
const ran = concResults.map((r) => Number(/finished: (\d+) ran/.exec(r.out)?.[1] ?? -1));
const concCmp = compare(C);
log(`concurrent runs: ${conc}; exit codes ${concResults.map((r) => r.code).join(', ')}; instances computed per run ${ran.join(', ')} (sum ${ran.reduce((a, b) => a + b, 0)} for ${refManifest.size}); ${concCmp.same}/${refManifest.size} bit-identical to the reference`);

// ------------------------------------------------------------------ 4. bad input
const bad: Array<{ name: string; args?: string[]; env?: NodeJS.ProcessEnv; edit?: (yaml: string, dir: string) => string; expect: number }> = [
  { name: '--gpus garbage', args: ['run', '--gpus', 'g@rbage'], expect: 2 },
  { name: '--gpus 1 without a GPU backend', args: ['run', '--gpus', '1'], expect: 2 },
  { name: '-j 0', args: ['run', '-j', '0'], expect: 2 },
  { name: '-j abc', args: ['run', '-j', 'abc'], expect: 2 },
  { name: 'DAG_BACKEND=garbage run', args: ['run'], env: { DAG_BACKEND: 'garbage' }, expect: 2 },
  { name: 'DAG_BACKEND=garbage status', args: ['status'], env: { DAG_BACKEND: 'garbage' }, expect: 2 },
  { name: 'DAG_BACKEND=tensorflow-gpu (not installed)', args: ['run'], env: { DAG_BACKEND: 'tensorflow-gpu' }, expect: 2 },
  { name: 'unknown target', args: ['run', 'nosuchstage'], expect: 2 },
  { name: 'unknown command', args: ['frobnicate'], expect: 2 },
  { name: 'unknown flag', args: ['run', '--frob'], expect: 2 },
  { name: '300-character data-set name', edit: (y) => y.replace(/^ {2}xray: /m, `  ${'x'.repeat(300)}: `), args: ['run'], expect: 2 },
  { name: 'lr: 1e9', edit: (y) => y.replace('lr: 0.003', 'lr: 1e9'), args: ['run', 'finetune[source=random]'], expect: 1 },
  { name: 'negative lr', edit: (y) => y.replace('lr: 0.003', 'lr: -1'), args: ['run'], expect: 2 },
  { name: 'epochs: 1.5', edit: (y) => y.replace('epochs: 3, headEpochs', 'epochs: 1.5, headEpochs'), args: ['run'], expect: 2 },
  { name: 'unknown param', edit: (y) => y.replace('batch: 8, bnMomentum: 0.9 }\n  extract', 'batch: 8, bnMomentum: 0.9, frob: 1 }\n  extract'), args: ['run'], expect: 2 },
  { name: 'YAML syntax error', edit: (y) => y.replace('stages:', 'stages: [\n'), args: ['run'], expect: 2 },
  { name: 'cycle', edit: (y) => y.replace('needs: [source-data]', 'needs: [source-data, report]'), args: ['run'], expect: 2 },
  { name: 'title with HTML', edit: (y) => y.replace('names: { natural: Natural, medical: Medical } }\n$', 'names: { natural: Natural, medical: Medical }, title: "<script>x</script>" }\n'), args: ['status'], expect: 0 },
  {
    name: 'CSV path ../../etc/passwd',
    edit: (y, d) => {
      mkdirSync(join(d, 'csvdata'), { recursive: true });
      writeFileSync(join(d, 'csvdata', 'labels.csv'), 'path,class\n../../etc/passwd,a\n');
      return y.replace(/preprocess:\n {4}uses: preprocess\n {4}matrix: \{ dataset: \$datasets \}\n {4}params: \{[^\n]*\}/, 'preprocess:\n    uses: preprocess\n    matrix: { dataset: $datasets }\n    params: { adapter: csv, root: csvdata, size: 32, folds: 2 }');
    },
    args: ['run', 'preprocess'],
    expect: 2,
  },
  {
    name: 'symlink loop in a data folder',
    edit: (y, d) => {
      mkdirSync(join(d, 'folderdata', 'a'), { recursive: true });
      writeFileSync(join(d, 'folderdata', 'a', 'x.png'), 'not a png');
      try { symlinkSync('loop2', join(d, 'folderdata', 'a', 'loop1')); symlinkSync('loop1', join(d, 'folderdata', 'a', 'loop2')); } catch { /* exists */ }
      return y.replace(/preprocess:\n {4}uses: preprocess\n {4}matrix: \{ dataset: \$datasets \}\n {4}params: \{[^\n]*\}/, 'preprocess:\n    uses: preprocess\n    matrix: { dataset: $datasets }\n    params: { adapter: folder, root: folderdata, size: 32, folds: 2 }');
    },
    args: ['run', 'preprocess'],
    expect: 2,
  },
];
const badStats = { cases: 0, asExpected: 0, stackTraces: 0, ranAnything: 0 };
for (const b of bad) {
  const d = mkdtempSync(join(work, 'bad-'));
  writeFileSync(join(d, 'pipeline.yaml'), b.edit ? b.edit(pipelineText, d) : pipelineText);
  const r = dag([...(b.args ?? ['run']), '--cache', join(d, 'cache')], b.env ?? {}, d);
  badStats.cases++;
  const ok = r.code === b.expect;
  if (ok) badStats.asExpected++;
  if (hasStack(r.out)) badStats.stackTraces++;
  const ranSomething = b.expect === 2 && existsSync(join(d, 'cache', 'runs')) && readdirSync(join(d, 'cache', 'runs')).length > 0;
  if (ranSomething) badStats.ranAnything++;
  log(`bad input "${b.name}": exit ${r.code} (expected ${b.expect})${hasStack(r.out) ? ' STACK TRACE' : ''}${ranSomething ? ' RAN INSTANCES' : ''}: ${r.out.trim().split('\n').filter(Boolean).slice(-1)[0]?.slice(0, 160) ?? ''}`);
}

// ------------------------------------------------------------------ summary
console.log('\nsummary');
console.log(`  kill -9: ${killStats.kills} kills; verify failures after a kill ${killStats.verifyFailures}; finished instances lost ${killStats.lostFinished}; partial artifacts recorded ${killStats.partialRecorded}`);
console.log(`  after the kills: ${killCmp.same}/${refManifest.size} instances bit-identical to an uninterrupted run (${killCmp.differ.length} differ, ${killCmp.missing.length} missing); ${resumedLogs.length} trainings resumed from a checkpoint`);
console.log(`  flipped bytes: ${flipStats.flips}; detected before use ${flipStats.detected}; same bytes restored ${flipStats.restored}; verify clean after each repair ${flipStats.verifyClean}`);
console.log(`  concurrent runs: ${conc}; all exit 0: ${concResults.every((r) => r.code === 0)}; computed ${ran.join('+')}; ${concCmp.same}/${refManifest.size} bit-identical`);
console.log(`  bad input: ${badStats.cases} cases; exit as expected ${badStats.asExpected}; stack traces ${badStats.stackTraces}; ran instances before refusing ${badStats.ranAnything}`);

