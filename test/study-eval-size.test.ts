/**
 * finetune's evalSize: a classifier trained at one size evaluated at another, as the scripts
 * behind the published thyroid and mammograms numbers did (224 -> 112). The trained weights
 * are copied into a network built for the new size, the held-out images resized with PIL's
 * NEAREST rule; at the training size it is the plain prediction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../src/ml/backend.ts';
import { buildClassifier, buildResNet } from '../src/ml/resnet.ts';
import { preprocessInput } from '../src/ml/preprocess-input.ts';
import { evaluateAtSize, resizeImages } from '../src/study/eval-size.ts';

const { tf } = await loadTf({ prefer: 'cpu' });

test('resizeImages halves with the PIL pixel-centre rule (pixel 2i+1)', () => {
  const img = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => i);
  const out = resizeImages({ images: img, shape: [1, 4, 4, 3] }, 2, 2);
  // output (y, x) samples input (2y+1, 2x+1)
  const at = (y: number, x: number) => Array.from(img.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
  assert.deepEqual(Array.from(out.images), [...at(1, 1), ...at(1, 3), ...at(3, 1), ...at(3, 3)]);
});

test('evaluateAtSize: the trained weights at the training size predict as the model; at half size they still run and differ', () => {
  const n = 6;
  const images = Uint8Array.from({ length: n * 64 * 64 * 3 }, (_, i) => (i * 7919 + (i >> 9) * 13) % 251);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  const model = buildClassifier(tf, buildResNet(tf, { variant: 'resnet-micro', inputShape: [64, 64, 3], seed: 3 }), { classes: 2, seed: 3 });
  const set = { images, shape: [n, 64, 64, 3] as [number, number, number, number], labels };
  const same = evaluateAtSize(tf, model, set, { variant: 'resnet-micro', classes: 2, size: [64, 64], preprocess: 'caffe', batch: 4 });
  const direct = tf.tidy(() => (model.predict(preprocessInput(tf, { data: images, shape: set.shape }, 'caffe')) as ReturnType<typeof tf.tensor>).dataSync());
  same.probs.forEach((p, i) => assert.ok(Math.abs(p - direct[i]!) < 1e-5, `${p} vs ${direct[i]}`));
  const half = evaluateAtSize(tf, model, set, { variant: 'resnet-micro', classes: 2, size: [32, 32], preprocess: 'caffe', batch: 4 });
  assert.deepEqual(half.shape, [n, 1]);
  assert.ok(half.probs.some((p, i) => Math.abs(p - same.probs[i]!) > 1e-4), 'a different input size gives different predictions');
  const acc = Array.from(half.probs).filter((p, i) => (p > 0.5 ? 1 : 0) === labels[i]).length / n;
  assert.equal(half.accuracy, acc);
});
