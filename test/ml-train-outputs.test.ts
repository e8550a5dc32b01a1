/**
 * Run outputs (weights.h5, history.csv, predictions, metrics.json), initialising from a
 * pretrain run's weights.h5 through the real ResNet builder, wrong-architecture weights,
 * and damaged checkpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTf } from '../src/ml/backend.ts';
import { readNpy } from '../src/data/npy.ts';
import { finetune } from '../src/ml/train/finetune.ts';
import { writeRunOutputs } from '../src/ml/train/outputs.ts';
import { squaresDataset, tinyClassifier } from '../src/ml/train/fixtures.ts';
import { checkpointDir, loadCheckpoint } from '../src/ml/train/checkpoint.ts';
import { TrainError } from '../src/ml/train/errors.ts';

const { tf } = await loadTf({ prefer: 'wasm' });
const dir = mkdtempSync(join(tmpdir(), 'ml-train-out-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('resnet-micro: pretrain outputs, then fine-tune from its weights.h5 (backbone only); wrong architecture is WEIGHTS_MISMATCH', async () => {
  const train = squaresDataset(6, 32, 5, 3);
  const val = squaresDataset(6, 32, 6, 3);
  const params = { batchSize: 6, maxEpochs: 1, lr: 1e-3, seed: 3 };
  const pre = await finetune(tf, { model: { variant: 'resnet-micro', inputSize: 32, classes: 3, init: { kind: 'random' } }, train, val, params });
  const out = join(dir, 'pretrain');
  await writeRunOutputs(out, pre, { classNames: ['none', 'red', 'green'] });
  for (const f of ['weights.h5', 'history.csv', 'predictions.npy', 'labels.npy', 'predictions.csv', 'metrics.json']) {
    assert.ok(existsSync(join(out, f)), `${f} written`);
  }
  const probs = readNpy(join(out, 'predictions.npy'));
  assert.deepEqual(probs.shape, [6, 3]);
  assert.equal(readNpy(join(out, 'labels.npy')).dtype, '<i4');
  const csv = readFileSync(join(out, 'predictions.csv'), 'utf8').split('\n');
  assert.equal(csv[0], 'index,label,p_none,p_red,p_green');
  assert.equal(csv.length, 8);
  const hist = readFileSync(join(out, 'history.csv'), 'utf8').split('\n');
  assert.equal(hist[0], 'epoch,phase,loss,acc,val_loss,val_acc,lr'); // no wall-clock column: re-runs must give the same bytes
  assert.match(hist[1]!, /^1,full,/);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(metrics['bestEpoch'], 1);
  assert.equal(metrics['aucKind'], 'ovr-weighted');
  assert.equal(typeof metrics['auc'], 'number');
  assert.deepEqual(metrics['classNames'], ['none', 'red', 'green']);

  // Fine-tune a binary model from the 3-class pretrain file: backbone loaded, head fresh.
  const bin = squaresDataset(4, 32, 7);
  const ft = await finetune(tf, {
    model: { variant: 'resnet-micro', inputSize: 32, classes: 2, init: { kind: 'pretrain', path: join(out, 'weights.h5') } },
    train: bin,
    val: bin,
    params: { ...params, maxEpochs: 0 },
  });
  const a = pre.net.backbone.getLayer('conv1_conv').getWeights()[0]!.dataSync();
  const b = ft.net.backbone.getLayer('conv1_conv').getWeights()[0]!.dataSync();
  assert.deepEqual(Array.from(b), Array.from(a), 'conv1 kernel came from the pretrain file');
  assert.equal(ft.history.length, 0);

  // resnet-mini weights into resnet-micro: typed error naming the problem.
  await assert.rejects(
    finetune(tf, { model: { variant: 'resnet-mini', inputSize: 32, classes: 2, init: { kind: 'pretrain', path: join(out, 'weights.h5') } }, train: bin, val: bin, params }),
    (e: unknown) => e instanceof TrainError && e.code === 'WEIGHTS_MISMATCH' && e.message.includes('weights.h5'),
  );
  for (const r of [pre, ft]) r.model.dispose();
});

test('a damaged or foreign checkpoint is ignored with a log line, and the run starts afresh', async () => {
  const work = join(dir, 'work');
  const train = squaresDataset(16, 16, 1);
  const opts = { model: tinyClassifier({ size: 16 }), train, val: train, params: { batchSize: 8, maxEpochs: 1, preprocess: 'none' as const }, workDir: work };
  const first = await finetune(tf, opts);
  const ck = loadCheckpoint(work);
  assert.ok(ck !== null && ck.state.phaseDone && ck.state.epochs === 1);
  // Truncate the epoch blob: unreadable -> logged, fresh run.
  writeFileSync(join(checkpointDir(work), ck.state.epochFile), Buffer.alloc(3));
  assert.throws(() => loadCheckpoint(work), (e: unknown) => e instanceof TrainError && e.code === 'CHECKPOINT_INVALID');
  const logs: string[] = [];
  const second = await finetune(tf, { ...opts, log: (m) => logs.push(m) });
  assert.equal(second.resumedEpochs, 0);
  assert.ok(logs.some((l) => l.includes('ignoring unreadable checkpoint')));
  // Different params -> different fingerprint -> fresh run.
  const logs2: string[] = [];
  const third = await finetune(tf, { ...opts, params: { ...opts.params, lr: 1e-3 }, log: (m) => logs2.push(m) });
  assert.equal(third.resumedEpochs, 0);
  assert.ok(logs2.some((l) => l.includes('different run')));
  for (const r of [first, second, third]) r.model.dispose();
});
