/**
 * The wasm backend's convolution gradients and layout kernels (src/ml/wasm-kernels)
 * equal the cpu backend's results, and a tiny conv net trains on wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf, type Tf } from '../src/ml/backend.ts';
import { backendRunner, relErr, values } from './fixtures/wasm-compare.ts';

const rt = await loadTf({ prefer: 'wasm' });
const tf: Tf = rt.tf;
const on = backendRunner(tf);

type Case = { x: [number, number, number, number]; k: number; cout: number; stride: 1 | 2; pad: 'same' | 'valid' };
const cases: Case[] = [];
for (const k of [1, 3, 7]) {
  for (const stride of [1, 2] as const) {
    for (const pad of ['same', 'valid'] as const) {
      const cin = k === 7 ? 3 : 5;
      cases.push({ x: [2, k === 7 ? 13 : 9, k === 7 ? 12 : 9, cin], k, cout: 4, stride, pad });
    }
  }
}

// Deep-stage shapes (few output pixels, many weights) take the weights-streamed path.
cases.push(
  { x: [1, 4, 4, 20], k: 3, cout: 6, stride: 1, pad: 'same' },
  { x: [1, 5, 5, 20], k: 3, cout: 6, stride: 2, pad: 'valid' },
  { x: [1, 3, 3, 32], k: 1, cout: 8, stride: 1, pad: 'valid' },
  { x: [1, 4, 4, 32], k: 1, cout: 8, stride: 2, pad: 'valid' },
);

test('the kernels are registered on the wasm backend', () => {
  assert.equal(rt.backend, 'wasm');
  for (const name of ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'FusedConv2D', 'Tile', 'Sum', 'Mean', 'Identity']) {
    assert.ok(rt.info.customKernels.includes(name), name);
    assert.ok(tf.getKernel(name, 'wasm') !== undefined, name);
  }
  assert.ok(rt.info.customKernels.includes('FusedBatchNormGrad'));
  assert.ok(tf.getKernel('DagFusedBatchNormGrad', 'wasm') !== undefined);
});

for (const c of cases) {
  test(`conv2d gradients match cpu: ${c.k}x${c.k} stride ${c.stride} ${c.pad} x=${c.x.join('x')}`, async () => {
    const wShape: [number, number, number, number] = [c.k, c.k, c.x[3], c.cout];
    const xv = values(c.x.reduce((a, b) => a * b, 1), 1);
    const wv = values(wShape.reduce((a, b) => a * b, 1), 2);
    const grads = (): import('@tensorflow/tfjs').Tensor[] => {
      const x = tf.tensor4d(xv, c.x);
      const w = tf.tensor4d(wv, wShape);
      // A non-uniform upstream gradient: d/dy of sum(y * y * 0.5 + y) = y + 1.
      const f = (a: import('@tensorflow/tfjs').Tensor, b: import('@tensorflow/tfjs').Tensor) => {
        const y = tf.conv2d(a as import('@tensorflow/tfjs').Tensor4D, b as import('@tensorflow/tfjs').Tensor4D, c.stride, c.pad);
        return y.square().mul(0.5).add(y).sum();
      };
      const [gx, gw] = tf.grads(f)([x, w]);
      tf.dispose([x, w]);
      return [gx!, gw!];
    };
    const [wasmDx, wasmDw] = await on('wasm', grads);
    const [cpuDx, cpuDw] = await on('cpu', grads);
    assert.ok(relErr(wasmDx!, cpuDx!) < 1e-4, `dx relative error ${relErr(wasmDx!, cpuDx!)}`);
    assert.ok(relErr(wasmDw!, cpuDw!) < 1e-4, `dw relative error ${relErr(wasmDw!, cpuDw!)}`);
  });
}

test('FusedConv2D (bias + relu) matches cpu on deep-stage shapes, first and repeated filter use', async () => {
  const shapes: [[number, number, number, number], number, number, 1 | 2, 'same' | 'valid'][] = [
    [[2, 4, 4, 24], 3, 8, 1, 'same'],
    [[1, 5, 5, 16], 3, 4, 2, 'valid'],
    [[1, 3, 3, 40], 1, 6, 1, 'valid'],
  ];
  for (const [xs, k, cout, stride, pad] of shapes) {
    const xv = values(xs.reduce((a, b) => a * b, 1), 5);
    const wv = values(k * k * xs[3] * cout, 6);
    const bv = values(cout, 7);
    const run = (): import('@tensorflow/tfjs').Tensor[] => {
      const x = tf.tensor4d(xv, xs);
      const w = tf.tensor4d(wv, [k, k, xs[3], cout]);
      const b = tf.tensor1d(bv);
      const first = tf.fused.conv2d({ x, filter: w, strides: stride, pad, bias: b, activation: 'relu' });
      const again = tf.fused.conv2d({ x, filter: w, strides: stride, pad, bias: b, activation: 'linear' });
      tf.dispose([x, w, b]);
      return [first, again];
    };
    const got = await on('wasm', run);
    const want = await on('cpu', run);
    got.forEach((g, i) => assert.ok(relErr(g, want[i]!) < 1e-5, `${xs} k${k} #${i}: relative error ${relErr(g, want[i]!)}`));
  }
});

test('Tile, Sum and Mean (incl. batch-norm moments and their gradient) match cpu', async () => {
  const shape: [number, number, number, number] = [2, 3, 4, 5];
  const xv = values(120, 3);
  const ops = (): import('@tensorflow/tfjs').Tensor[] => {
    const x = tf.tensor4d(xv, shape);
    const v = tf.tensor4d(xv.slice(0, 5), [1, 1, 1, 5]);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const offset = tf.tensor1d(xv.slice(5, 10));
    const scale = tf.tensor1d(xv.slice(10, 15));
    const bnGrad = tf.grad((t: import('@tensorflow/tfjs').Tensor) =>
      tf.batchNorm(t as import('@tensorflow/tfjs').Tensor4D, mean, variance, offset, scale, 1e-3).square().sum(),
    )(x);
    const out = [
      tf.tile(x, [1, 2, 1, 3]),
      tf.tile(v, [2, 3, 4, 1]),
      x.sum([0, 1, 2]),
      x.sum([1, 0], true),
      x.sum(-1),
      x.mean([0, 1, 2]),
      x.mean(),
      variance,
      bnGrad,
    ];
    tf.dispose([x, v, mean, offset, scale]);
    return out;
  };
  const got = await on('wasm', ops);
  const want = await on('cpu', ops);
  got.forEach((g, i) => assert.ok(relErr(g, want[i]!) < 1e-5, `op #${i}: relative error ${relErr(g, want[i]!)}`));
});

test('the one-pass FusedBatchNorm gradient matches cpu for every input (training-mode statistics)', async () => {
  assert.ok(rt.info.customKernels.includes('FusedBatchNormGrad'));
  const shape: [number, number, number, number] = [2, 3, 3, 6];
  const xv = values(108, 8);
  const run = (): import('@tensorflow/tfjs').Tensor[] => {
    const x = tf.tensor4d(xv, shape);
    const mean = tf.tensor1d(xv.slice(0, 6));
    const variance = tf.tensor1d(xv.slice(6, 12).map((v) => v + 1));
    const offset = tf.tensor1d(xv.slice(12, 18));
    const scale = tf.tensor1d(xv.slice(18, 24));
    const f = (a: import('@tensorflow/tfjs').Tensor, m: import('@tensorflow/tfjs').Tensor, v: import('@tensorflow/tfjs').Tensor, o: import('@tensorflow/tfjs').Tensor, s: import('@tensorflow/tfjs').Tensor) =>
      tf.batchNorm(a as import('@tensorflow/tfjs').Tensor4D, m, v, o, s, 1e-3).square().sum();
    const direct = tf.grads(f)([x, mean, variance, offset, scale]);
    // As tf.layers does in training: statistics from the batch itself.
    const viaMoments = tf.grad((a: import('@tensorflow/tfjs').Tensor) => {
      const mo = tf.moments(a, [0, 1, 2]);
      return tf.batchNorm(a as import('@tensorflow/tfjs').Tensor4D, mo.mean, mo.variance, offset, scale, 1e-3).mul(a).sum();
    })(x);
    tf.dispose([x, mean, variance, offset, scale]);
    return [...direct, viaMoments];
  };
  const got = await on('wasm', run);
  const want = await on('cpu', run);
  got.forEach((g, i) => assert.ok(relErr(g, want[i]!) < 1e-4, `gradient #${i}: relative error ${relErr(g, want[i]!)}`));
});

test('Identity shares the buffer safely: the clone outlives its source and later ops do not alter it', async () => {
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const y = x.clone();
  const z = tf.tidy(() => x.add(1).mul(2));
  x.dispose();
  assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(await z.data()), [4, 6, 8, 10]);
  const v = tf.variable(y);
  v.assign(tf.tensor2d([9, 9, 9, 9], [2, 2]));
  assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4]);
  tf.dispose([y, z, v]);
});

test('a tiny conv net trains on wasm (loss decreases)', async () => {
  assert.equal(tf.getBackend(), 'wasm');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 6, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'valid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  // Label = whether the red channel's mean exceeds the blue one's: learnable by the net.
  const n = 16;
  const xv = values(n * 12 * 12 * 3, 4);
  const x = tf.tensor4d(xv, [n, 12, 12, 3]);
  const y = tf.tidy(() => x.mean([1, 2]).slice([0, 0], [n, 1]).greater(x.mean([1, 2]).slice([0, 2], [n, 1])).cast('float32'));
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const losses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const l = (await model.trainOnBatch(x, y)) as number;
    losses.push(l);
  }
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(losses[losses.length - 1]! < losses[0]! * 0.8, `loss did not decrease: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
  tf.dispose([x, y]);
  model.dispose();
});
