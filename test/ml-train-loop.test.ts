/**
 * The training loop on a tiny generated set (bright square present/absent, 16 px) and a
 * tiny Keras-shaped classifier, on the wasm backend (single-threaded, deterministic; the
 * pure-JS cpu backend's conv gradients are ~20x slower, so it is only used for the
 * determinism check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTf } from '../src/ml/backend.ts';
import { finetune, type FinetuneOptions } from '../src/ml/train/finetune.ts';
import { squaresDataset, tinyClassifier } from '../src/ml/train/fixtures.ts';
import { TrainError } from '../src/ml/train/errors.ts';
import { rocAuc } from '../src/stats/auc.ts';

const SIZE = 16;
const train = squaresDataset(48, SIZE, 1);
const val = squaresDataset(16, SIZE, 2);

function base(extra: Partial<FinetuneOptions> = {}, params: FinetuneOptions['params'] = {}): FinetuneOptions {
  return {
    model: tinyClassifier({ size: SIZE }),
    train,
    val,
    params: { lr: 1e-2, batchSize: 16, maxEpochs: 3, patience: 3, preprocess: 'none', seed: 7, ...params },
    ...extra,
  };
}

function weightsOf(model: { weights: { read(): { dataSync(): ArrayLike<number> } }[] }): Float32Array[] {
  return model.weights.map((w) => Float32Array.from(w.read().dataSync()));
}

function assertSameWeights(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length, `${what}: weight count`);
  a.forEach((x, i) => assert.deepEqual(Buffer.from(x.buffer), Buffer.from(b[i]!.buffer), `${what}: weight ${i} differs`));
}

const rt = await loadTf({ prefer: 'wasm' });
const tf = rt.tf;

test('the loss decreases and the evaluated model is the best-validation checkpoint', async () => {
  const r = await finetune(tf, base({}, { maxEpochs: 4, patience: 10 }));
  assert.equal(r.history.length, 4);
  assert.ok(r.history[3]!.loss < r.history[0]!.loss, `loss ${r.history.map((h) => h.loss.toFixed(3)).join(' -> ')} should decrease`);
  const vl = r.history.map((h) => h.val_loss);
  const bestIdx = vl.indexOf(Math.min(...vl));
  assert.equal(r.best.epoch, bestIdx + 1);
  // Re-evaluating the restored best weights gives the best epoch's validation loss.
  assert.ok(Math.abs(r.metrics.valLoss - vl[bestIdx]!) < 1e-5, `evaluated val_loss ${r.metrics.valLoss} vs best ${vl[bestIdx]}`);
  assert.equal(r.predictions.shape[0], 16);
  assert.equal(r.predictions.shape[1], 1);
  assert.equal(r.metrics.auc, rocAuc(val.labels, r.predictions.probs), 'AUC of the evaluated predictions');
  assert.ok(r.metrics.auc! > 0.5, `AUC ${r.metrics.auc} on an easy task`);
  r.model.dispose();
});

test('same seed gives bit-identical weights (wasm and cpu backends); another seed does not', async () => {
  const a = await finetune(tf, base({}, { maxEpochs: 2 }));
  const b = await finetune(tf, base({}, { maxEpochs: 2 }));
  const c = await finetune(tf, base({}, { maxEpochs: 2, seed: 8 }));
  assertSameWeights(weightsOf(a.model), weightsOf(b.model), 'same seed');
  assert.notDeepEqual(weightsOf(a.model)[0], weightsOf(c.model)[0]);
  for (const r of [a, b, c]) r.model.dispose();
  // The pure-JS cpu backend too (smaller run: its conv gradients are slow).
  const before = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const small = { train: squaresDataset(16, SIZE, 1) };
    const d = await finetune(tf, base(small, { maxEpochs: 1 }));
    const e = await finetune(tf, base(small, { maxEpochs: 1 }));
    assertSameWeights(weightsOf(d.model), weightsOf(e.model), 'same seed on cpu');
    for (const r of [d, e]) r.model.dispose();
  } finally {
    await tf.setBackend(before);
  }
});

test('freeze phase leaves every backbone weight (BN moving statistics too) unchanged', async () => {
  const factory = tinyClassifier({ size: SIZE });
  const fresh = factory(tf, 7) as Awaited<ReturnType<typeof factory>>;
  const init = weightsOf(fresh);
  fresh.dispose();
  const r = await finetune(tf, base({}, { freeze: true, headPhase: { maxEpochs: 2, lr: 1e-2 }, maxEpochs: 0 }));
  assert.deepEqual(r.history.map((h) => h.phase), ['head', 'head']);
  const after = weightsOf(r.model);
  // Positions of the backbone's variables in the classifier's weight list (which puts all
  // trainable weights before the non-trainable BN statistics).
  const ids = new Set(r.net.backbone.weights.map((w) => w.read().id));
  const inBackbone = r.model.weights.map((w) => ids.has(w.read().id));
  assert.equal(inBackbone.filter(Boolean).length, 12, 'two conv (kernel, bias) + two BN (4 each)');
  assertSameWeights(after.filter((_, i) => inBackbone[i]), init.filter((_, i) => inBackbone[i]), 'backbone');
  const kernel = r.model.weights.findIndex((w) => w.originalName.includes('dense') && w.originalName.includes('kernel'));
  assert.notDeepEqual(after[kernel], init[kernel], 'the head kernel must have moved');
  r.model.dispose();
});

test('freeze strategy: head phase stops on val_acc, then the full phase runs with its own lr', async () => {
  const r = await finetune(tf, base({}, { freeze: true, headPhase: { maxEpochs: 2, lr: 1e-2 }, maxEpochs: 1, lr: 1e-3 }));
  assert.deepEqual(r.history.map((h) => [h.phase, h.lr]), [['head', 1e-2], ['head', 1e-2], ['full', 1e-3]]);
  assert.equal(r.best.epoch, 3, 'only the full phase selects the checkpoint');
  r.model.dispose();
});

test('kill after epoch 2 and resume = uninterrupted run, bit for bit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-train-resume-'));
  try {
    const params = { maxEpochs: 4, patience: 10 };
    const full = await finetune(tf, base({}, params));
    const ac = new AbortController();
    await assert.rejects(
      finetune(tf, base({ workDir: dir, signal: ac.signal, onProgress: (p) => { if (p.unit === 'epoch' && p.done === 2) ac.abort(); } }, params)),
      (e: unknown) => e instanceof TrainError && e.code === 'ABORTED',
    );
    const logs: string[] = [];
    const resumed = await finetune(tf, base({ workDir: dir, log: (m) => logs.push(m) }, params));
    assert.equal(resumed.resumedEpochs, 2);
    assert.ok(logs.some((l) => l.startsWith('resuming after epoch 2')));
    assert.equal(resumed.history.length, 4);
    assert.deepEqual(resumed.history.map((h) => h.val_loss), full.history.map((h) => h.val_loss));
    assert.equal(resumed.best.epoch, full.best.epoch);
    assertSameWeights(weightsOf(resumed.model), weightsOf(full.model), 'resumed vs uninterrupted');
    assert.deepEqual(resumed.predictions.probs, full.predictions.probs);
    // A finished checkpoint skips training altogether.
    const again = await finetune(tf, base({ workDir: dir }, params));
    assert.equal(again.resumedEpochs, 4);
    assertSameWeights(weightsOf(again.model), weightsOf(full.model), 'finished checkpoint');
    for (const r of [full, resumed, again]) r.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tensor count does not grow with epochs', async () => {
  const counts: number[] = [];
  const r = await finetune(tf, base({ onProgress: (p) => { if (p.unit === 'epoch') counts.push(tf.memory().numTensors); } }, { maxEpochs: 3, patience: 10 }));
  assert.equal(counts.length, 3);
  // Epoch 1 may allocate the best-checkpoint copy's bookkeeping; after it, nothing grows.
  assert.equal(counts[2], counts[1], `tensors per epoch end: ${counts.join(', ')}`);
  r.model.dispose();
});

test('bad input: labels outside the classes, mismatched shapes, NaN loss', async () => {
  const bad = { ...val, labels: Int32Array.from(val.labels, (y, i) => (i === 5 ? 2 : y)) };
  await assert.rejects(finetune(tf, base({ val: bad })), (e: unknown) => e instanceof TrainError && e.code === 'LABEL_OUT_OF_RANGE' && /row 5/.test(e.message));
  const short = { ...train, images: train.images.subarray(1) };
  await assert.rejects(finetune(tf, base({ train: short })), (e: unknown) => e instanceof TrainError && e.code === 'BAD_INPUT_SHAPE');
  const small = squaresDataset(8, 12, 3);
  await assert.rejects(finetune(tf, base({ val: small })), (e: unknown) => e instanceof TrainError && e.code === 'BAD_INPUT_SHAPE' && /12x12x3/.test(e.message));
  // A NaN weight makes the first batch's loss NaN: the error names phase, epoch and batch.
  const factory = tinyClassifier({ size: SIZE });
  const poisoned = (t: typeof tf, seed: number) => {
    const m = factory(t, seed) as Awaited<ReturnType<typeof factory>>;
    const dense = m.getLayer('dense');
    const [k, b] = dense.getWeights();
    dense.setWeights([tf.fill(k!.shape, NaN), b!]);
    return m;
  };
  await assert.rejects(finetune(tf, base({ model: poisoned })), (e: unknown) => e instanceof TrainError && e.code === 'NAN_LOSS' && /epoch 1, batch 1\/3/.test(e.message));
  await assert.rejects(finetune(tf, base({}, { batchSize: 0 })), (e: unknown) => e instanceof TrainError && e.code === 'BAD_PARAM');
});

test('a child process SIGKILLed during epoch 3 resumes from the epoch-2 checkpoint to the same result', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-train-kill-'));
  try {
    const root = new URL('..', import.meta.url).pathname;
    const script = join(dir, 'child.mts');
    writeFileSync(
      script,
      `import { loadTf } from ${JSON.stringify(join(root, 'src/ml/backend.ts'))};
import { finetune } from ${JSON.stringify(join(root, 'src/ml/train/finetune.ts'))};
import { squaresDataset, tinyClassifier } from ${JSON.stringify(join(root, 'src/ml/train/fixtures.ts'))};
const { tf } = await loadTf({ prefer: 'wasm' });
await finetune(tf, {
  model: tinyClassifier({ size: ${SIZE} }), train: squaresDataset(48, ${SIZE}, 1), val: squaresDataset(16, ${SIZE}, 2),
  params: { lr: 1e-2, batchSize: 16, maxEpochs: 4, patience: 10, preprocess: 'none', seed: 7 },
  workDir: ${JSON.stringify(join(dir, 'work'))},
  onProgress: (p) => { if (p.unit === 'batch' && p.message.includes('epoch 3 ') && p.done === 2) { process.stdout.write('KILL-ME\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); } },
});
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('KILL-ME')) child.kill('SIGKILL');
      });
      child.on('exit', (code, sig) => (sig === 'SIGKILL' ? resolve() : reject(new Error(`child exited with ${code} before it was killed`))));
    });
    const params = { maxEpochs: 4, patience: 10 };
    const resumed = await finetune(tf, base({ workDir: join(dir, 'work') }, params));
    assert.equal(resumed.resumedEpochs, 2);
    const full = await finetune(tf, base({}, params));
    assertSameWeights(weightsOf(resumed.model), weightsOf(full.model), 'killed + resumed vs uninterrupted');
    for (const r of [full, resumed]) r.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress reports every batch and every epoch', async () => {
  const seen: string[] = [];
  const r = await finetune(tf, base({ onProgress: (p) => seen.push(`${p.unit}:${p.done}/${p.total}`) }, { maxEpochs: 2, patience: 10 }));
  const epoch = ['batch:1/3', 'batch:2/3', 'batch:3/3', 'val batch:1/1'];
  assert.deepEqual(seen, [...epoch, 'epoch:1/2', ...epoch, 'epoch:2/2', 'val batch:1/1']);
  r.model.dispose();
});
