/**
 * Activation extraction: shapes of the compared layers, inference mode (dropout off, BN
 * moving statistics), determinism, batch-size independence, the acts/*.npy + meta.json
 * layout, and conv1 filters from a classifier.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTf } from '../src/ml/backend.ts';
import { readNpy } from '../src/data/npy.ts';
import { buildClassifier, buildResNet, comparedLayers } from '../src/ml/resnet.ts';
import { extractActivations, ExtractError, writeActivations } from '../src/ml/extract.ts';
import { preprocessInput } from '../src/ml/preprocess-input.ts';
import { conv1Filters } from '../src/ml/filters.ts';

const { tf } = await loadTf({ prefer: 'cpu' });
const dir = mkdtempSync(join(tmpdir(), 'dag-ml-extract-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const N = 5;
const images = {
  data: Uint8Array.from({ length: N * 32 * 32 * 3 }, (_, i) => (i * 7919) % 251),
  shape: [N, 32, 32, 3] as [number, number, number, number],
};
const backbone = buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], seed: 11 });
// Non-trivial BN statistics, so that inference mode (moving stats) is distinguishable.
for (const v of backbone.weights) {
  if (/moving_(mean|variance)/.test(v.name)) {
    const t = tf.randomUniform(v.shape as number[], 0.5, 1.5, 'float32', 5);
    v.write(t);
    t.dispose();
  }
}
const cols = comparedLayers('resnet-micro');
const layers = Object.values(cols);

test('compared layers have the expected shapes and match a direct inference-mode forward pass', async () => {
  let calls = 0;
  const acts = await extractActivations(tf, backbone, images, { layers, batchSize: 2, onProgress: () => calls++ });
  assert.equal(calls, 3);
  assert.deepEqual(
    layers.map((l) => acts.get(l)?.shape),
    [
      [N, 16, 16, 8],
      [N, 8, 8, 32],
      [N, 4, 4, 64],
      [N, 2, 2, 128],
      [N, 1, 1, 256],
    ],
  );
  // Reference: the same layer computed by applying the sub-graph with training=false.
  const sub = tf.model({ inputs: backbone.inputs, outputs: backbone.getLayer('conv3_block1_out').output as never });
  const ref = tf.tidy(() => (sub.apply(preprocessInput(tf, images), { training: false }) as import('@tensorflow/tfjs').Tensor).dataSync());
  const got = acts.get('conv3_block1_out')!.data;
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
  assert.ok(maxDiff < 1e-4, `max diff ${maxDiff}`);
  // Training mode (batch statistics) would give different numbers: we are not in it.
  const train = tf.tidy(() => (sub.apply(preprocessInput(tf, images), { training: true }) as import('@tensorflow/tfjs').Tensor).dataSync());
  let trainDiff = 0;
  for (let i = 0; i < got.length; i++) trainDiff = Math.max(trainDiff, Math.abs(got[i]! - train[i]!));
  assert.ok(trainDiff > 1e-3, 'extraction must use moving statistics');
});

test('extraction is deterministic, batch-size independent, and unaffected by the head dropout', async () => {
  const a = await extractActivations(tf, backbone, images, { layers, batchSize: 2 });
  const b = await extractActivations(tf, backbone, images, { layers, batchSize: 2 });
  const c = await extractActivations(tf, backbone, images, { layers, batchSize: 5 });
  const clf = buildClassifier(tf, backbone, { classes: 3, seed: 1 });
  const d = await extractActivations(tf, clf, images, { layers, batchSize: 4 });
  for (const l of layers) {
    assert.deepEqual(a.get(l)!.data, b.get(l)!.data, l);
    const x = a.get(l)!.data;
    for (const other of [c, d]) {
      const y = other.get(l)!.data;
      let diff = 0;
      for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      assert.ok(diff < 1e-4, `${l}: ${diff}`);
    }
  }
  const k = conv1Filters(clf);
  assert.deepEqual(k.shape, [7, 7, 3, 8]);
  assert.deepEqual(k.data, backbone.getLayer('conv1_conv').getWeights()[0]!.dataSync());
});

test('writeActivations writes acts/<column>.npy float32 and meta.json', async () => {
  const acts = await extractActivations(tf, backbone, images, { layers, batchSize: 3 });
  const files = writeActivations(dir, acts, { model: 'resnet-micro', images: N }, cols);
  assert.deepEqual(files, ['acts/conv1.npy', 'acts/block1.npy', 'acts/block2.npy', 'acts/block3.npy', 'acts/block4.npy', 'meta.json']);
  const npy = readNpy(join(dir, 'acts', 'block2.npy'));
  assert.equal(npy.dtype, '<f4');
  assert.deepEqual(npy.shape, [N, 4, 4, 64]);
  assert.deepEqual(npy.data, acts.get(cols.block2)!.data);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  assert.deepEqual(meta.layers.block4, { layer: 'conv5_block1_out', shape: [N, 1, 1, 256] });
  assert.equal(meta.images, N);
});

test('unknown layers and wrong image sizes are typed errors', async () => {
  await assert.rejects(
    extractActivations(tf, backbone, images, { layers: ['conv2_block3_out'] }),
    (e: unknown) => e instanceof ExtractError && e.code === 'ML_UNKNOWN_LAYER' && /conv2_block3_out/.test(e.message),
  );
  await assert.rejects(
    extractActivations(tf, backbone, { data: new Uint8Array(64 * 64 * 3), shape: [1, 64, 64, 3] }, { layers }),
    (e: unknown) => e instanceof ExtractError && e.code === 'ML_INPUT_SHAPE' && /\[n, 32, 32, 3\]/.test(e.message),
  );
});
