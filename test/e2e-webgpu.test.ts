/**
 * End to end on WebGPU through the real CLI: a 3-epoch fine-tune of resnet-micro (16
 * synthetic 32-px images, batch 8) with DAG_BACKEND=webgpu runs on the adapter that
 * scripts/setup.d/10-webgpu.sh installs (llvmpipe in CI: the forced software adapter
 * becomes the run's one card), then the same pipeline with DAG_BACKEND=cpu re-runs only the
 * fine-tune (the backend is in its cache key) and every history.csv value agrees within
 * 1e-3. No adapter: the test FAILS with the reason (run `bash scripts/setup.sh`).
 * About 10 s of CPU; wall time grows with the machine's load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DAG = join(ROOT, 'bin', 'dag.js');

const PIPELINE = `version: 1
seed: 0
cache: cache
stages:
  data:
    uses: preprocess
    params: { adapter: synthetic, family: radiology, classes: 2, count: 16, synthetic_seed: 5, size: 32, folds: 2 }
  finetune:
    uses: finetune
    needs: [data]
    params: { fold: 1, variant: resnet-micro, epochs: 3, patience: 10, lr: 0.001, batch: 8, augment: false }
`;

function dag(cwd: string, backend: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [DAG, ...args], { cwd, encoding: 'utf8', env: { ...process.env, DAG_BACKEND: backend, DAG_GPU: undefined }, timeout: 1_800_000 });
  assert.equal(r.status, 0, `dag ${args.join(' ')} (DAG_BACKEND=${backend}) exited ${r.status}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}\n(no WebGPU adapter? run bash scripts/setup.sh)`);
  return r.stdout;
}

function history(csv: string): number[][] {
  const [head, ...rows] = csv.trim().split('\n');
  assert.equal(head, 'epoch,phase,loss,acc,val_loss,val_acc,lr');
  return rows.map((r) => r.split(',').filter((_, i) => i !== 1).map(Number));
}

test('dag run with DAG_BACKEND=webgpu fine-tunes on the adapter and matches the cpu backend within 1e-3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-webgpu-'));
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), PIPELINE);
    const out = dag(dir, 'webgpu', 'run', '--reporter', 'plain');
    assert.match(out, /finished: 2 ran, 0 cached, 0 failed/);
    assert.match(out, /done +finetune .* on gpu 0/, 'the forced adapter is the run\'s one card');
    assert.match(dag(dir, 'webgpu', 'log', 'finetune'), /computing on webgpu \(/);
    const gpu = history(dag(dir, 'webgpu', 'cat', 'finetune', 'history.csv'));
    assert.equal(gpu.length, 3);

    const again = dag(dir, 'cpu', 'run', '--reporter', 'plain');
    assert.match(again, /finished: 1 ran, 1 cached, 0 failed/, 'only the fine-tune re-runs: the backend is in its key');
    assert.match(dag(dir, 'cpu', 'log', 'finetune'), /computing on cpu/);
    const cpu = history(dag(dir, 'cpu', 'cat', 'finetune', 'history.csv'));
    gpu.forEach((row, e) =>
      row.forEach((v, k) => assert.ok(Math.abs(v - cpu[e]![k]!) <= 1e-3, `epoch ${e + 1} column ${k}: webgpu ${v} vs cpu ${cpu[e]![k]}`)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
