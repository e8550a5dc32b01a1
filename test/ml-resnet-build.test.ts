/**
 * The ResNet builders against the Keras facts of protocol.md section 2: layer names and
 * order, output shapes at 224 / 112 / 96 inputs, channel counts, parameter count, BN
 * epsilon, strides, seeded initialisation and the classifier head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../src/ml/backend.ts';
import {
  buildClassifier,
  buildResNet,
  comparedChannels,
  comparedLayers,
  comparedSpatial,
  findBackbone,
  layerPlan,
  listVariants,
  paramCount,
  UnknownVariantError,
  variantSpec,
} from '../src/ml/resnet.ts';

const { tf } = await loadTf({ prefer: 'cpu' });

const RESNET50_COMPARED = {
  conv1: 'conv1_relu',
  block1: 'conv2_block3_out',
  block2: 'conv3_block4_out',
  block3: 'conv4_block6_out',
  block4: 'conv5_block3_out',
};

test('resnet50 at 224: Keras layer names, order, shapes, parameter count and hyper-parameters', () => {
  const model = buildResNet(tf, { variant: 'resnet50', inputShape: [224, 224, 3], seed: 0 });
  try {
    assert.equal(model.name, 'resnet50');
    const names = model.layers.map((l) => l.name);
    assert.deepEqual(names, layerPlan('resnet50').map((l) => l.name));
    assert.equal(names.length, 176);
    assert.deepEqual(names.slice(0, 7), ['input_1', 'conv1_pad', 'conv1_conv', 'conv1_bn', 'conv1_relu', 'pool1_pad', 'pool1_pool']);
    // Keras' topological order within the first block of a stage.
    assert.deepEqual(names.slice(7, 19), [
      'conv2_block1_1_conv', 'conv2_block1_1_bn', 'conv2_block1_1_relu',
      'conv2_block1_2_conv', 'conv2_block1_2_bn', 'conv2_block1_2_relu',
      'conv2_block1_0_conv', 'conv2_block1_3_conv', 'conv2_block1_0_bn', 'conv2_block1_3_bn',
      'conv2_block1_add', 'conv2_block1_out',
    ]);
    assert.equal(names.at(-1), 'avg_pool');
    assert.equal(model.countParams(), 23_587_712);
    assert.equal(paramCount('resnet50'), 23_587_712);
    assert.deepEqual(comparedLayers('resnet50'), RESNET50_COMPARED);

    const shapes: Record<string, unknown> = {};
    for (const [col, layer] of Object.entries(RESNET50_COMPARED)) shapes[col] = model.getLayer(layer).outputShape;
    assert.deepEqual(shapes, {
      conv1: [null, 112, 112, 64],
      block1: [null, 56, 56, 256],
      block2: [null, 28, 28, 512],
      block3: [null, 14, 14, 1024],
      block4: [null, 7, 7, 2048],
    });
    assert.deepEqual(model.outputs[0]?.shape, [null, 2048]);
    assert.deepEqual(comparedChannels('resnet50'), { conv1: 64, block1: 256, block2: 512, block3: 1024, block4: 2048 });

    const cfg = (name: string): Record<string, unknown> => model.getLayer(name).getConfig() as Record<string, unknown>;
    for (const bn of ['conv1_bn', 'conv3_block2_2_bn', 'conv5_block1_0_bn']) {
      assert.equal(cfg(bn).epsilon, 1.001e-5, bn);
      assert.equal(cfg(bn).momentum, 0.99, bn);
    }
    assert.deepEqual(cfg('conv1_conv').kernelSize, [7, 7]);
    assert.deepEqual(cfg('conv1_conv').strides, [2, 2]);
    assert.equal(cfg('conv1_conv').useBias, true);
    assert.deepEqual(cfg('conv1_pad').padding, [[3, 3], [3, 3]]);
    assert.deepEqual(cfg('pool1_pool').poolSize, [3, 3]);
    assert.deepEqual(cfg('pool1_pool').strides, [2, 2]);
    // Stride 2 on the first 1x1 conv (and shortcut) of conv3..conv5, stride 1 in conv2.
    assert.deepEqual(cfg('conv2_block1_1_conv').strides, [1, 1]);
    assert.deepEqual(cfg('conv2_block1_0_conv').strides, [1, 1]);
    for (const s of [3, 4, 5]) {
      assert.deepEqual(cfg(`conv${s}_block1_1_conv`).strides, [2, 2]);
      assert.deepEqual(cfg(`conv${s}_block1_0_conv`).strides, [2, 2]);
      assert.deepEqual(cfg(`conv${s}_block1_2_conv`).strides, [1, 1]);
      assert.equal(cfg(`conv${s}_block1_2_conv`).padding, 'same');
    }
    // Every weight the plan lists exists with the plan's shape, in Keras order.
    for (const lp of layerPlan('resnet50')) {
      const got = model.getLayer(lp.name).getWeights().map((w) => w.shape);
      assert.deepEqual(got, lp.weights.map((w) => [...w.shape]), lp.name);
    }
    // Keras default initialisers: BN gamma 1, beta 0, moving mean 0, variance 1, zero biases.
    const [gamma, beta, mean, variance] = model.getLayer('conv1_bn').getWeights().map((w) => Array.from(w.dataSync()));
    assert.ok(gamma?.every((v) => v === 1) && beta?.every((v) => v === 0));
    assert.ok(mean?.every((v) => v === 0) && variance?.every((v) => v === 1));
    assert.ok(Array.from(model.getLayer('conv1_conv').getWeights()[1]!.dataSync()).every((v) => v === 0));
  } finally {
    model.dispose();
  }
});

test('resnet50 spatial sizes at 112 and 96 inputs match protocol.md section 2', () => {
  for (const [size, expected] of [
    [112, [56, 28, 14, 7, 4]],
    [96, [48, 24, 12, 6, 3]],
  ] as const) {
    const model = buildResNet(tf, { variant: 'resnet50', inputShape: [size, size, 3], seed: 0 });
    try {
      const got = Object.values(RESNET50_COMPARED).map((l) => (model.getLayer(l).outputShape as number[])[1]);
      assert.deepEqual(got, [...expected], `input ${size}`);
      const spatial = comparedSpatial([size, size]);
      assert.deepEqual(Object.values(spatial).map((hw) => hw[0]), [...expected]);
    } finally {
      model.dispose();
    }
  }
});

test('small variants keep the naming scheme and compare the last block of each stage', () => {
  assert.deepEqual(comparedLayers('resnet-micro'), {
    conv1: 'conv1_relu',
    block1: 'conv2_block1_out',
    block2: 'conv3_block1_out',
    block3: 'conv4_block1_out',
    block4: 'conv5_block1_out',
  });
  assert.equal(comparedLayers('resnet-mini').block4, 'conv5_block2_out');
  assert.ok(listVariants().map((v) => v.name).includes('resnet-micro'));
  const model = buildResNet(tf, { variant: 'resnet-mini', inputShape: [64, 64, 3], seed: 1 });
  try {
    assert.deepEqual(model.layers.map((l) => l.name), layerPlan('resnet-mini').map((l) => l.name));
    assert.equal(model.countParams(), paramCount('resnet-mini'));
    assert.deepEqual(model.getLayer('conv5_block2_out').outputShape, [null, 2, 2, 512]);
  } finally {
    model.dispose();
  }
});

test('unknown variant is a typed error listing the known ones', () => {
  assert.throws(
    () => variantSpec('resnet51'),
    (e: unknown) =>
      e instanceof UnknownVariantError && e.code === 'ML_UNKNOWN_VARIANT' && /resnet50/.test(e.message) && /resnet-micro/.test(e.message),
  );
  assert.throws(() => buildResNet(tf, { variant: 'vgg16', inputShape: [64, 64, 3] }), UnknownVariantError);
});

test('seeded builds are identical; different seeds and different layers differ', () => {
  const weightsOf = (seed: number): Float32Array[] => {
    const m = buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], seed });
    const out = m.getWeights().map((w) => w.dataSync() as Float32Array);
    m.dispose();
    return out;
  };
  const a = weightsOf(7);
  const b = weightsOf(7);
  const c = weightsOf(8);
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(w, b[i]));
  assert.notDeepEqual(a[0], c[0]);
  const m = buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], seed: 7 });
  try {
    // conv2_block1_1_conv and conv2_block1_2_conv differ in shape; pick two equal-shaped 1x1s.
    const k1 = m.getLayer('conv3_block1_3_conv').getWeights()[0]!.dataSync();
    const k2 = m.getLayer('conv3_block1_0_conv').getWeights()[0]!.dataSync();
    assert.notDeepEqual(Array.from(k1.slice(0, 16)), Array.from(k2.slice(0, 16)));
  } finally {
    m.dispose();
  }
});

test('classifier head: nested backbone, dropout, sigmoid for 2 classes and softmax for more', () => {
  const backbone = buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], seed: 3 });
  const binary = buildClassifier(tf, backbone, { classes: 2, seed: 3 });
  assert.deepEqual(binary.layers.map((l) => l.name), ['input_2', 'resnet-micro', 'dropout', 'dense']);
  assert.deepEqual(binary.outputs[0]?.shape, [null, 1]);
  assert.equal((binary.getLayer('dense').getConfig() as { activation: string }).activation, 'sigmoid');
  assert.equal((binary.getLayer('dropout').getConfig() as { rate: number }).rate, 0.5);
  assert.equal(findBackbone(binary), backbone);
  assert.equal(findBackbone(binary).getLayer('conv1_conv').name, 'conv1_conv');
  const multi = buildClassifier(tf, backbone, { classes: 3, seed: 3 });
  assert.deepEqual(multi.outputs[0]?.shape, [null, 3]);
  assert.equal((multi.getLayer('dense').getConfig() as { activation: string }).activation, 'softmax');
  assert.throws(() => buildClassifier(tf, backbone, { classes: 1 }), /at least 2 classes/);
  backbone.dispose();
});
