/**
 * Resume is bit-exact wherever the kill lands (issue 13), through the real CLI: a fine-tune
 * (augmentation and dropout on, both the freeze and the no-freeze paths) is killed with
 * SIGKILL (the whole `dag run` process group) early in its first epoch, in the middle of an
 * epoch, right after an epoch's checkpoint and at the head -> all-layers phase switch; the
 * next `dag run` resumes from the checkpoint and every output byte (weights.h5, history,
 * predictions, metrics, model.json) equals an uninterrupted run's. A learning rate that
 * blows up the weights fails the instance with NAN_LOSS naming the epoch, never a success.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DAG_BIN } from '../fixtures/kinds/_rig.ts';

const PIPELINE = (lr = 0.003) => `version: 1
seed: 0
cache: cache
stages:
  preprocess:
    uses: preprocess
    params: { adapter: synthetic, family: radiology, classes: 2, count: 32, synthetic_seed: 3, size: 32, folds: 2 }
  finetune:
    uses: finetune
    needs: [preprocess]
    matrix: { freeze: [false, true] }
    params: { fold: 1, freeze: "\${freeze}", variant: resnet-micro, epochs: 3, headEpochs: 2, lr: ${lr}, headLr: 0.01, batch: 5, patience: 9, headPatience: 9, bnMomentum: 0.9 }
`;

const dir = mkdtempSync(join(tmpdir(), 'dag-resume-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'pipeline.yaml'), PIPELINE());

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete e.NODE_TEST_CONTEXT;
  return e;
}

function dag(args: string[], cwd = dir): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [DAG_BIN, ...args], { cwd, env: env(), encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Output name -> digest of the latest record of `id` in `cache`. */
function outputs(cache: string, id: string): Record<string, string> {
  for (const f of readdirSync(join(cache, 'runs'))) {
    const r = JSON.parse(readFileSync(join(cache, 'runs', f), 'utf8')) as { id: string; outputs: Record<string, { digest: string }> };
    if (r.id === id) return Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.digest]));
  }
  throw new Error(`no record of ${id} in ${cache}`);
}

/**
 * Run `dag run TARGET` into `cache` and SIGKILL its process group when a progress event
 * matches `when` (unit, phase, epoch). Resolves with the event that triggered the kill.
 */
function runAndKill(cache: string, target: string, when: (unit: string, phase: string, epoch: number) => boolean): Promise<string> {
  const child = spawn(process.execPath, [DAG_BIN, 'run', target, '--cache', cache, '--reporter', 'json', '-j', '1'], { cwd: dir, env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((res, rej) => {
    let buf = '';
    let hit = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0 && !hit) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const e = JSON.parse(line) as { type: string; message?: string; progress?: { unit?: string; message?: string } };
        // Batch progress (throttled) marks "inside an epoch"; the log line `epoch E [phase] ...`
        // (never throttled) is written right after that epoch's checkpoint.
        const m = e.type === 'progress' ? /^(\w+) epoch (\d+)/.exec(e.progress?.message ?? '') : null;
        const l = e.type === 'log' ? /^epoch (\d+) \[(\w+)\]/.exec(e.message ?? '') : null;
        const unit = m ? (e.progress!.unit ?? '') : 'checkpoint';
        if ((m && when(unit, m[1]!, Number(m[2]))) || (l && when(unit, l[2]!, Number(l[1])))) {
          hit = m ? `${unit} ${e.progress!.message}` : `log ${e.message}`;
          process.kill(-child.pid!, 'SIGKILL');
        }
      }
    });
    child.on('close', () => (hit ? res(hit) : rej(new Error(`${target} finished before the kill point`))));
  });
}

const ID = (freeze: boolean) => `finetune[freeze=${freeze}]`;
const REF = join(dir, 'ref');

test('uninterrupted reference run', () => {
  const r = dag(['run', '--cache', REF, '--reporter', 'plain']);
  assert.equal(r.code, 0, r.out);
});

const KILLS: Array<{ name: string; freeze: boolean; when: (unit: string, phase: string, epoch: number) => boolean; resumes: RegExp | null }> = [
  { name: 'early in epoch 1 (no checkpoint yet)', freeze: false, when: (u, _p, e) => u === 'batch' && e === 1, resumes: null },
  { name: 'mid epoch 2', freeze: false, when: (u, _p, e) => u === 'batch' && e === 2, resumes: /resuming after epoch 1 /m },
  { name: 'right after the checkpoint of epoch 2', freeze: false, when: (u, _p, e) => u === 'checkpoint' && e === 2, resumes: /resuming after epoch 2 /m },
  { name: 'mid head epoch 2 (freeze)', freeze: true, when: (u, p, e) => u === 'batch' && p === 'head' && e === 2, resumes: /resuming after epoch 1 \(phase head\)/m },
  { name: 'at the head -> full switch (freeze)', freeze: true, when: (u, p, e) => u === 'checkpoint' && p === 'head' && e === 2, resumes: /resuming after epoch 2 \(phase full\)/m },
  { name: 'mid full epoch 4 (freeze)', freeze: true, when: (u, p, e) => u === 'batch' && p === 'full' && e === 4, resumes: /resuming after epoch 3 \(phase full\)/m },
];

for (const k of KILLS) {
  test(`SIGKILL ${k.name}: the resumed run gives the same bytes as the uninterrupted one`, async () => {
    const cache = join(dir, `kill-${KILLS.indexOf(k)}`);
    const id = ID(k.freeze);
    const at = await runAndKill(cache, id, k.when);
    assert.ok(!existsSync(join(cache, 'runs')) || !readdirSync(join(cache, 'runs')).some((f) => readFileSync(join(cache, 'runs', f), 'utf8').includes(`"id":"${id}"`)), `killed at "${at}" but ${id} was recorded`);
    const r = dag(['run', id, '--cache', cache, '--reporter', 'plain']);
    assert.equal(r.code, 0, r.out);
    const log = dag(['log', id, '--cache', cache]).out;
    if (k.resumes) assert.match(log, k.resumes, `killed at "${at}"; log:\n${log}`);
    else assert.doesNotMatch(log, /resuming/);
    assert.deepEqual(outputs(cache, id), outputs(REF, id), `killed at "${at}": outputs differ from the uninterrupted run`);
  });
}

test('lr 1e9 fails the fine-tune with NAN_LOSS naming the epoch, exit 1', () => {
  const d = mkdtempSync(join(tmpdir(), 'dag-nan-'));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'pipeline.yaml'), PIPELINE(1e9).replace('freeze: [false, true]', 'freeze: [false]'));
  const r = dag(['run', '--reporter', 'plain'], d);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /FAILED\s+finetune\[freeze=false\]: NAN_LOSS: .*(loss became|weights became non-finite).* epoch \d/);
  assert.doesNotMatch(r.out, /^\s+at /m);
});
