/**
 * The wasm replacements on BatchNorm's moments path: the ones-free Mean gradient
 * (src/ml/wasm-kernels/mean-grad.ts) and the buffer-sharing same-dtype Cast
 * (layout-kernels.ts), and the JS MaxPoolGrad (pool-grad.ts), give the cpu
 * backend's values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf, type Tf } from '../src/ml/backend.ts';
import { backendRunner, values } from './fixtures/wasm-compare.ts';

const rt = await loadTf({ prefer: 'wasm' });
const tf: Tf = rt.tf;
const on = backendRunner(tf);
type Tensor = import('@tensorflow/tfjs').Tensor;

test('gradients through moments and means (several axis forms) equal cpu', async () => {
  assert.ok(rt.info.customKernels.includes('MeanGrad') && rt.info.customKernels.includes('Cast'));
  const shape = [2, 3, 4, 5];
  const xv = values(120, 3);
  const wv = values(120, 4);
  const run = (): Tensor[] => {
    const x = tf.tensor(xv, shape);
    const w = tf.tensor(wv, shape);
    const f = (a: Tensor): Tensor => {
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      const m2 = tf.mean(a, -1, true);
      const m3 = tf.mean(a, [1, 3]);
      return tf.add(tf.add(tf.sum(tf.mul(mean, variance)), tf.sum(tf.mul(m2, w.mean(-1, true)))), tf.sum(tf.square(m3)));
    };
    const g = tf.grad(f)(x);
    tf.dispose([x, w]);
    return [g];
  };
  const [got] = await on('wasm', run);
  const [want] = await on('cpu', run);
  let err = 0;
  for (let i = 0; i < want!.length; i++) err = Math.max(err, Math.abs(got![i]! - want![i]!));
  assert.ok(err < 1e-6, `max abs error ${err}`);
});

test('same-dtype Cast shares the buffer safely; real casts still convert', () => {
  const x = tf.tensor1d([1.5, -2.25, 3]);
  const y = tf.cast(x, 'float32');
  const z = tf.cast(x, 'int32');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1.5, -2.25, 3]);
  assert.deepEqual(Array.from(z.dataSync()), [1, -2, 3]);
  assert.equal(z.dtype, 'int32');
  tf.dispose([y, z]);
});

test('MaxPoolGrad (3x3 stride 2, valid and same, ties included) equals cpu', async () => {
  const shape: [number, number, number, number] = [2, 9, 8, 5];
  // Rounded values: many exact ties inside windows.
  const xv = values(2 * 9 * 8 * 5, 7).map((v) => Math.round(v * 6) / 6);
  const wv = values(2 * 9 * 8 * 5, 8);
  for (const pad of ['valid', 'same'] as const) {
    const run = (): Tensor[] => {
      const x = tf.tensor4d(xv, shape);
      const f = (a: Tensor): Tensor => {
        const p = tf.maxPool(a as import('@tensorflow/tfjs').Tensor4D, 3, 2, pad);
        return tf.sum(tf.mul(p, tf.slice(tf.tensor4d(wv, shape), [0, 0, 0, 0], p.shape)));
      };
      const g = tf.grad(f)(x);
      x.dispose();
      return [g];
    };
    const [got] = await on('wasm', run);
    const [want] = await on('cpu', run);
    let err = 0;
    for (let i = 0; i < want!.length; i++) err = Math.max(err, Math.abs(got![i]! - want![i]!));
    assert.ok(err < 1e-6, `${pad}: max abs error ${err}`);
  }
  assert.ok(rt.info.customKernels.includes('MaxPoolGrad'));
});

test('FusedBatchNorm gradient on the SIMD path (channels % 4 == 0, several row blocks) equals cpu', async () => {
  const shape: [number, number, number, number] = [3, 5, 7, 12];
  const n = 3 * 5 * 7 * 12;
  const xv = values(n, 21);
  const pv = values(48, 22);
  const run = (): Tensor[] => {
    const x = tf.tensor4d(xv, shape);
    const mean = tf.tensor1d(pv.slice(0, 12));
    const variance = tf.tensor1d(pv.slice(12, 24).map((v) => v + 1));
    const offset = tf.tensor1d(pv.slice(24, 36));
    const scale = tf.tensor1d(pv.slice(36, 48));
    const f = (a: Tensor, m: Tensor, v: Tensor, o: Tensor, s: Tensor): Tensor => tf.batchNorm(a as import('@tensorflow/tfjs').Tensor4D, m, v, o, s, 1e-3).square().sum();
    const g = tf.grads(f)([x, mean, variance, offset, scale]);
    tf.dispose([x, mean, variance, offset, scale]);
    return g;
  };
  const got = await on('wasm', run);
  const want = await on('cpu', run);
  got.forEach((g, i) => {
    let num = 0;
    let den = 0;
    for (let j = 0; j < g.length; j++) {
      num = Math.max(num, Math.abs(g[j]! - want[i]![j]!));
      den = Math.max(den, Math.abs(want[i]![j]!));
    }
    assert.ok(num / den < 1e-4, `gradient #${i}: relative error ${num / den}`);
  });
});

test('leading-axis Sum / Mean on the SIMD path (channels % 4 == 0, several row blocks) equal cpu', async () => {
  const xv = values(3 * 5 * 7 * 12, 31);
  const run = (): Tensor[] => {
    const x = tf.tensor4d(xv, [3, 5, 7, 12]);
    const out = [tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.sum(x, [0, 1])];
    x.dispose();
    return out;
  };
  const got = await on('wasm', run);
  const want = await on('cpu', run);
  got.forEach((g, i) => {
    assert.equal(g.length, want[i]!.length);
    for (let j = 0; j < g.length; j++) assert.ok(Math.abs(g[j]! - want[i]![j]!) < 1e-5, `#${i}[${j}]: ${g[j]} vs ${want[i]![j]}`);
  });
});

test('FusedBatchNorm forward (SIMD path and fallbacks, with and without scale/offset) equals cpu', async () => {
  for (const shape of [[3, 5, 7, 12], [2, 3, 3, 6]] as [number, number, number, number][]) {
    const c = shape[3];
    const n = shape.reduce((a, b) => a * b, 1);
    const xv = values(n, 41);
    const pv = values(4 * c, 42);
    const run = (): Tensor[] => {
      const x = tf.tensor4d(xv, shape);
      const mean = tf.tensor1d(pv.slice(0, c));
      const variance = tf.tensor1d(pv.slice(c, 2 * c).map((v) => v + 1));
      const offset = tf.tensor1d(pv.slice(2 * c, 3 * c));
      const scale = tf.tensor1d(pv.slice(3 * c));
      const out = [tf.batchNorm(x, mean, variance, offset, scale, 1e-3), tf.batchNorm(x, mean, variance, undefined, undefined, 1e-3)];
      tf.dispose([x, mean, variance, offset, scale]);
      return out;
    };
    const got = await on('wasm', run);
    const want = await on('cpu', run);
    got.forEach((g, i) => {
      for (let j = 0; j < g.length; j++) assert.ok(Math.abs(g[j]! - want[i]![j]!) < 1e-5, `${shape} #${i}[${j}]: ${g[j]} vs ${want[i]![j]}`);
    });
  }
  assert.ok(rt.info.customKernels.includes('FusedBatchNorm'));
});
