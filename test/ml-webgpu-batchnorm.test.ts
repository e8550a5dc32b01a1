/**
 * Training-mode BatchNormalization on WebGPU (src/ml/webgpu/batchnorm.ts, routed by
 * batchnorm-layer.ts): output, moving statistics and gradients of a tfjs-layers
 * BatchNormalization equal the cpu backend's (1e-4 relative), in two dispatches
 * forward and two backward. Runs on llvmpipe; fails (never skips) without an adapter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webgpuTf } from './fixtures/webgpu.ts';
import { backendRunner, relErr, values } from './fixtures/wasm-compare.ts';
import { registerBatchNormKernels } from '../src/ml/webgpu/batchnorm.ts';
import { routeBatchNormLayer } from '../src/ml/webgpu/batchnorm-layer.ts';
import { countDispatches } from '../src/ml/webgpu/dispatch-count.ts';

const { tf, backend } = await webgpuTf();
registerBatchNormKernels(tf);
assert.ok(routeBatchNormLayer(tf));
const on = backendRunner(tf, 'webgpu');
type Tensor = import('@tensorflow/tfjs').Tensor;

/** One training-mode BN layer: [y, moving mean, moving variance, dx, dgamma, dbeta]. */
function bnStep(shape: number[], seed: number, shift: number): () => Tensor[] {
  const c = shape[shape.length - 1]!;
  const n = shape.reduce((a, b) => a * b, 1);
  const xv = values(n, seed, 4).map((v, i) => v + shift + (i % c) * 0.25);
  const wv = values(n, seed + 1);
  const pv = values(4 * c, seed + 2);
  return () => {
    const layer = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1.001e-5 });
    layer.build(shape);
    layer.setWeights([
      tf.tensor1d(pv.slice(0, c).map((v) => 1 + v)),
      tf.tensor1d(pv.slice(c, 2 * c)),
      tf.tensor1d(pv.slice(2 * c, 3 * c)),
      tf.tensor1d(pv.slice(3 * c).map((v) => 1 + Math.abs(v))),
    ]);
    const x = tf.variable(tf.tensor(xv, shape));
    const w = tf.tensor(wv, shape);
    const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as import('@tensorflow/tfjs').Variable);
    let y: Tensor | undefined;
    const { grads } = tf.variableGrads(() => {
      y = tf.keep(layer.apply(x, { training: true }) as Tensor);
      return tf.sum(tf.mul(tf.square(y), w)) as import('@tensorflow/tfjs').Scalar;
    }, [x, gamma!, beta!]);
    const out = [y!, layer.getWeights()[2]!, layer.getWeights()[3]!, grads[x.name]!, grads[gamma!.name]!, grads[beta!.name]!];
    const kept = out.map((t) => t.clone());
    tf.dispose([x, w, y!, ...Object.values(grads)]);
    tf.dispose(layer.weights.map((v) => v.read()));
    return kept;
  };
}

const NAMES = ['y', 'moving mean', 'moving variance', 'dx', 'dgamma', 'dbeta'];
const SHAPES: [number[], number][] = [
  [[2, 5, 7, 12], 0],
  [[3, 9, 9, 5], 3], // odd channel count, mean far from zero
  [[1, 4, 4, 70], -2], // two channel blocks
  [[4, 20, 20, 8], 0.5], // several row chunks and apply tiles
  [[6, 3], 0], // rank 2 (a dense layer's BatchNormalization)
];

for (const [shape, shift] of SHAPES) {
  test(`training BatchNormalization on webgpu equals cpu: ${shape.join('x')}`, async () => {
    const run = bnStep(shape, 7 + shape.length, shift);
    const got = await on('webgpu', run);
    const want = await on('cpu', run);
    got.forEach((g, i) => {
      const e = relErr(g, want[i]!);
      assert.ok(e < 1e-4, `${NAMES[i]}: relative error ${e}`);
    });
  });
}

test('training BatchNormalization is 2 dispatches forward, 2 backward on webgpu', async () => {
  const shape = [2, 6, 6, 16];
  const layer = tf.layers.batchNormalization({ axis: -1 });
  layer.build(shape);
  const x = tf.variable(tf.tensor(values(2 * 6 * 6 * 16, 5), shape));
  const fwd = await countDispatches(backend, async () => {
    const y = layer.apply(x, { training: true }) as Tensor;
    await y.data();
    y.dispose();
  });
  assert.deepEqual([...fwd.count.byProgram], [['bn_stats', 1], ['bn_apply', 1]]);
  // Backward: the loss is a plain sum, so everything beyond the BN gradient is tfjs' own.
  const both = await countDispatches(backend, async () => {
    const g = tf.grad((a: Tensor) => tf.sum(layer.apply(a, { training: true }) as Tensor))(x);
    await g.data();
    g.dispose();
  });
  assert.equal(both.count.byProgram.get('bn_grad_sums'), 1);
  assert.equal(both.count.byProgram.get('bn_grad_apply'), 1);
  tf.dispose(x);
  tf.dispose(layer.weights.map((v) => v.read()));
});

test('inference-mode BatchNormalization keeps tfjs\' own kernel', async () => {
  const layer = tf.layers.batchNormalization({ axis: -1 });
  layer.build([1, 2, 2, 4]);
  const x = tf.ones([1, 2, 2, 4]);
  const { count } = await countDispatches(backend, async () => {
    const y = layer.apply(x, { training: false }) as Tensor;
    await y.data();
    y.dispose();
  });
  assert.equal(count.byProgram.get('bn_apply'), undefined);
  tf.dispose(x);
  tf.dispose(layer.weights.map((v) => v.read()));
});
