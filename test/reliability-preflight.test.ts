/**
 * Validation at plan time (issue 13), through the real CLI with the real stage kinds: a bad
 * `DAG_BACKEND`, `--gpus` on a machine whose tensor backend does not compute on a GPU,
 * names too long for a file name and CSV path rows leaving the data root are configuration
 * errors (exit 2) reported before any instance runs: the cache holds no run record after.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DAG_BIN } from './fixtures/kinds/_rig.ts';
import { BACKEND_ORDER } from '../src/ml/backend.ts';

function project(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dag-preflight-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pipeline.yaml'), yaml);
  return dir;
}

function dag(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  delete e.NODE_TEST_CONTEXT;
  delete e.CUDA_VISIBLE_DEVICES;
  const r = spawnSync(process.execPath, [DAG_BIN, ...args], { cwd: dir, env: e, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function nothingRan(dir: string): void {
  const runs = join(dir, 'cache', 'runs');
  assert.deepEqual(existsSync(runs) ? readdirSync(runs) : [], [], 'an instance ran before the plan-time check');
}

const TRAIN = (name = 'xray', lr = 0.001) => `version: 1
cache: cache
datasets:
  ${name}: { seed: 1 }
stages:
  preprocess:
    uses: preprocess
    matrix: { dataset: $datasets }
    params: { adapter: synthetic, family: radiology, classes: 2, count: 24, synthetic_seed: 1, size: 32, folds: 2 }
  finetune:
    uses: finetune
    needs: [preprocess]
    matrix: { dataset: $datasets }
    params: { fold: 1, variant: resnet-micro, epochs: 1, lr: ${lr}, batch: 12, augment: false }
`;

test('DAG_BACKEND is checked before anything runs, against the one list of backend names', () => {
  const dir = project(TRAIN());
  let r = dag(dir, ['run', '--reporter', 'plain'], { DAG_BACKEND: 'garbage' });
  assert.equal(r.code, 2, r.out);
  assert.ok(r.out.includes(`DAG_BACKEND="garbage" is not a backend; expected one of ${['auto', ...BACKEND_ORDER].join(', ')}`), r.out);
  assert.doesNotMatch(r.out, /^\s+at /m);
  nothingRan(dir);
  r = dag(dir, ['status'], { DAG_BACKEND: 'garbage' });
  assert.equal(r.code, 2, r.out);
  assert.doesNotMatch(r.out, /^\s+at /m);
});

test('--gpus on a machine whose tensor backend computes on the CPU is refused, not recorded as a GPU run', (t) => {
  const dir = project(TRAIN());
  const doctor = dag(dir, ['doctor', '--json']);
  let backend = '';
  try {
    backend = (JSON.parse(doctor.out) as { backend?: string }).backend ?? '';
  } catch { /* doctor printed something else: run the check */ }
  if (backend === 'tensorflow-gpu') return t.skip('this machine has a GPU backend');
  const r = dag(dir, ['run', '--gpus', '1', '--reporter', 'plain']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /--gpus 1: stage finetune \(kind finetune\) would not compute on a GPU: its tensor backend is \w+, which computes on the CPU/);
  nothingRan(dir);
});

test('names longer than a file name allows are refused at plan time', () => {
  const long = 'd'.repeat(300);
  const dir = project(TRAIN(long));
  const r = dag(dir, ['run', '--reporter', 'plain']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /stage preprocess: axis dataset value 'd{37}\.\.\.' is 300 bytes: names used in file names must be at most 200/);
  nothingRan(dir);
});

test('CSV path rows outside the data root are refused at plan time, naming the rows', () => {
  const dir = project(`version: 1
cache: cache
stages:
  preprocess:
    uses: preprocess
    params: { adapter: csv, root: data, size: 32, folds: 2 }
`);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'labels.csv'), 'path,class\na.png,x\n../../etc/passwd,y\n/etc/hostname,y\n');
  const r = dag(dir, ['run', '--reporter', 'plain']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /labels\.csv: 2 paths outside the data root .*data \(row 3: \.\.\/\.\.\/etc\/passwd, row 4: \/etc\/hostname\)/);
  nothingRan(dir);
});
