/**
 * BatchNorm moving statistics in the custom training loop: a training step must update them
 * with the momentum the run asks for (ModelSpec.bnMomentum, default Keras' 0.99). Short runs
 * evaluate with these statistics, so a momentum that is ignored leaves held-out predictions
 * near chance while training accuracy climbs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs';
import { loadTf } from '../src/ml/backend.ts';
import { buildResNet } from '../src/ml/resnet.ts';
import { preprocessInput } from '../src/ml/preprocess-input.ts';
import { finetune } from '../src/ml/train/finetune.ts';

const { tf } = await loadTf({ prefer: 'cpu' });

function tinySet(n: number): { images: Uint8Array; shape: [number, number, number, number]; labels: Int32Array } {
  const images = new Uint8Array(n * 32 * 32 * 3);
  let s = 12345;
  for (let i = 0; i < images.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    images[i] = s >>> 24;
  }
  return { images, shape: [n, 32, 32, 3], labels: Int32Array.from({ length: n }, (_, i) => i % 2) };
}

/** Per-channel mean of conv1_conv's output on the set, with the seeded initial weights. */
function conv1BatchMean(set: ReturnType<typeof tinySet>, seed: number): number[] {
  const bb = buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], seed });
  try {
    return tf.tidy(() => {
      const sub = tf.model({ inputs: bb.inputs, outputs: bb.getLayer('conv1_conv').output as TF.SymbolicTensor });
      const x = preprocessInput(tf, tf.tensor4d(Float32Array.from(set.images), set.shape), 'caffe');
      return Array.from(tf.moments(sub.apply(x) as TF.Tensor, [0, 1, 2]).mean.dataSync());
    });
  } finally {
    bb.dispose();
  }
}

test('one training step moves the BN moving mean by (1 - bnMomentum) towards the batch mean', async () => {
  const set = tinySet(8);
  const seed = 5;
  const expected = conv1BatchMean(set, seed);
  for (const momentum of [undefined, 0.5]) {
    const res = await finetune(tf, {
      model: { variant: 'resnet-micro', inputSize: 32, classes: 2, init: { kind: 'random' }, dropout: 0, ...(momentum !== undefined ? { bnMomentum: momentum } : {}) },
      train: set,
      val: set,
      // One batch = one step; the best checkpoint is that step's weights.
      params: { lr: 1e-3, batchSize: 8, maxEpochs: 1, augment: false, seed },
    });
    const bn = res.net.backbone.getLayer('conv1_bn');
    assert.equal(bn.getConfig()['momentum'], momentum ?? 0.99);
    const moving = Array.from(bn.getWeights()[2]!.dataSync());
    const decay = 1 - (momentum ?? 0.99);
    moving.forEach((m, c) => assert.ok(Math.abs(m - decay * expected[c]!) <= 1e-3 * (1 + Math.abs(expected[c]!)), `channel ${c}: moving mean ${m}, expected ${decay * expected[c]!} (momentum ${momentum ?? 0.99})`));
    res.model.dispose();
  }
});

test('buildResNet: bnMomentum sets every BatchNormalization layer; the default is Keras 0.99', () => {
  for (const [opt, want] of [[undefined, 0.99], [0.9, 0.9]] as const) {
    const m = buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], seed: 1, ...(opt !== undefined ? { bnMomentum: opt } : {}) });
    const bns = m.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    assert.ok(bns.length > 5);
    for (const l of bns) assert.equal(l.getConfig()['momentum'], want, l.name);
    m.dispose();
  }
  assert.throws(() => buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], bnMomentum: 1 }), /bnMomentum/);
});
