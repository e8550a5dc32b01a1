/**
 * Convolutions on our tiled WebGPU GEMM (src/ml/webgpu/conv.ts): forward (plain and
 * fused with bias and ReLU), input gradient and filter gradient equal the cpu
 * backend's (1e-4 relative) over ResNet50's cases: 1x1, 3x3 and the 7x7 stem, strides
 * 1 and 2, 'same' and 'valid', odd sizes, batch > 1, partial tiles and split
 * reductions. Runs on llvmpipe; fails (never skips) without an adapter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webgpuTf } from './fixtures/webgpu.ts';
import { backendRunner, relErr, values } from './fixtures/wasm-compare.ts';
import { registerConvKernels } from '../src/ml/webgpu/conv.ts';
import { registerReluGrad } from '../src/ml/webgpu/relu-grad.ts';
import { countDispatches } from '../src/ml/webgpu/dispatch-count.ts';

const { tf, backend } = await webgpuTf();
registerConvKernels(tf);
assert.ok(registerReluGrad(tf));
const on = backendRunner(tf, 'webgpu');
type Tensor = import('@tensorflow/tfjs').Tensor;
type T4 = import('@tensorflow/tfjs').Tensor4D;

type Case = { x: [number, number, number, number]; k: number; cout: number; stride: 1 | 2; pad: 'same' | 'valid' };
const cases: Case[] = [];
for (const k of [1, 3, 7]) {
  for (const stride of [1, 2] as const) {
    for (const pad of ['same', 'valid'] as const) {
      cases.push({ x: k === 7 ? [2, 13, 12, 3] : [2, 9, 9, 5], k, cout: 4, stride, pad });
    }
  }
}
cases.push(
  { x: [2, 17, 15, 24], k: 3, cout: 40, stride: 1, pad: 'same' }, // several tiles, partial ones, split filter gradient
  { x: [3, 7, 7, 64], k: 1, cout: 72, stride: 2, pad: 'valid' }, // a downsampling shortcut
  { x: [1, 4, 4, 48], k: 3, cout: 64, stride: 1, pad: 'same' }, // deep stage: few pixels, many weights
);

/** [y, dx, dw] from the three kernels directly (a random upstream gradient; tf.grads is covered below). */
function convRun(c: Case): () => Tensor[] {
  const wShape: [number, number, number, number] = [c.k, c.k, c.x[3], c.cout];
  const xv = values(c.x.reduce((a, b) => a * b, 1), 1);
  const wv = values(wShape.reduce((a, b) => a * b, 1), 2);
  return () => {
    const x = tf.tensor4d(xv, c.x);
    const w = tf.tensor4d(wv, wShape);
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const dy = tf.tensor(values(y.size, 3), y.shape);
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w } as never, { ...attrs, inputShape: c.x } as never) as Tensor;
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy } as never, { ...attrs, filterShape: wShape } as never) as Tensor;
    tf.dispose([x, w, dy]);
    return [y, dx, dw];
  };
}

for (const c of cases) {
  test(`conv ${c.k}x${c.k} stride ${c.stride} ${c.pad} x=${c.x.join('x')} cout ${c.cout}: forward and gradients equal cpu`, async () => {
    const got = await on('webgpu', convRun(c));
    const want = await on('cpu', convRun(c));
    ['y', 'dx', 'dw'].forEach((name, i) => {
      const e = relErr(got[i]!, want[i]!);
      assert.ok(e < 1e-4, `${name}: relative error ${e}`);
    });
  });
}

test('FusedConv2D with bias and ReLU, and its gradients through a layers Conv2D, equal cpu', async () => {
  const xs: [number, number, number, number] = [2, 10, 11, 6];
  const xv = values(2 * 10 * 11 * 6, 11);
  const wv = values(3 * 3 * 6 * 8, 12);
  const bv = values(8, 13);
  const run = (): Tensor[] => {
    const x = tf.tensor4d(xv, xs);
    const w = tf.tensor4d(wv, [3, 3, 6, 8]);
    const b = tf.tensor1d(bv);
    const fused = tf.fused.conv2d({ x, filter: w, strides: 2, pad: 'same', bias: b, activation: 'relu' });
    const layer = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 1, padding: 'same', useBias: true });
    layer.build(xs);
    layer.setWeights([w, b]);
    const [kernel, bias] = layer.trainableWeights.map((v) => v.read() as import('@tensorflow/tfjs').Variable);
    const xVar = tf.variable(x);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(xVar) as Tensor)) as import('@tensorflow/tfjs').Scalar, [xVar, kernel!, bias!]);
    const out = [fused, grads[xVar.name]!, grads[kernel!.name]!, grads[bias!.name]!];
    tf.dispose([x, w, b, xVar]);
    return out;
  };
  const got = await on('webgpu', run);
  const want = await on('cpu', run);
  ['fused y', 'dx', 'dw', 'dbias'].forEach((name, i) => {
    const e = relErr(got[i]!, want[i]!);
    assert.ok(e < 1e-4, `${name}: relative error ${e}`);
  });
});

test('the convolutions run on our kernels (one dispatch each; the split filter gradient two)', async () => {
  const x = tf.tensor4d(values(2 * 17 * 15 * 24, 3), [2, 17, 15, 24]);
  const w = tf.tensor4d(values(3 * 3 * 24 * 40, 4), [3, 3, 24, 40]);
  const { count } = await countDispatches(backend, async () => {
    const g = tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.conv2d(a as T4, b as T4, 1, 'same')))([x, w]);
    await Promise.all(g.map((t) => t.data()));
    tf.dispose(g);
  });
  assert.equal(count.byProgram.get('conv_fwd'), 1);
  assert.equal(count.byProgram.get('conv_dx'), 1);
  assert.equal(count.byProgram.get('conv_dw'), 1);
  assert.ok((count.byProgram.get('conv_dw_reduce') ?? 0) <= 1);
  for (const name of count.byProgram.keys()) assert.ok(!/Conv2D|Conv2DDerInput|Conv2DDerFilter|Im2Col|MatMul/i.test(name), `tfjs program ${name} ran`);
  tf.dispose([x, w]);
});

test('a layers Conv2D bias gradient comes from the filter-gradient dispatch (no reduction of its own)', async () => {
  const xs: [number, number, number, number] = [2, 9, 7, 12];
  const layer = tf.layers.conv2d({ filters: 20, kernelSize: 3, padding: 'same', useBias: true });
  layer.build(xs);
  const x = tf.tensor4d(values(2 * 9 * 7 * 12, 21), xs);
  const vars = layer.trainableWeights.map((v) => v.read() as import('@tensorflow/tfjs').Variable);
  const { count } = await countDispatches(backend, async () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x) as Tensor) as import('@tensorflow/tfjs').Scalar, vars);
    await Promise.all(Object.values(grads).map((g) => g.data()));
    tf.dispose([value, ...Object.values(grads)]);
  });
  assert.equal(count.byProgram.get('conv_dw'), 1);
  assert.equal(count.byProgram.get('ReduceProgram') ?? 0, 1, 'only the loss sum reduces');
  assert.equal(count.byProgram.get('TransposeProgram') ?? 0, 0);
  tf.dispose(x);
});

test('Relu gradient on webgpu is one dispatch and equals cpu', async () => {
  const xv = values(3 * 5 * 7, 31).map((v, i) => (i % 9 === 0 ? 0 : v));
  const wv = values(3 * 5 * 7, 32);
  const run = (): Tensor[] => {
    const x = tf.tensor3d(xv, [3, 5, 7]);
    const w = tf.tensor3d(wv, [3, 5, 7]);
    const g = tf.grad((a: Tensor) => tf.sum(tf.mul(tf.relu(a), w)))(x);
    tf.dispose([x, w]);
    return [g];
  };
  const got = await on('webgpu', run);
  const want = await on('cpu', run);
  assert.deepEqual(Array.from(got[0]!), Array.from(want[0]!));
  const x = tf.tensor3d(xv, [3, 5, 7]);
  const { count } = await countDispatches(backend, async () => {
    const g = tf.grad((a: Tensor) => tf.sum(tf.relu(a)))(x);
    await g.data();
    g.dispose();
  });
  assert.equal(count.byProgram.get('relu_grad'), 1);
  assert.equal(count.byProgram.get('UnaryOpProgram'), 1, 'the forward Relu only (no Step)');
  x.dispose();
});
