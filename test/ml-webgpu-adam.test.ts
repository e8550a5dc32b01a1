/**
 * `DagKerasAdamMulti` (src/ml/webgpu/adam.ts) on the webgpu backend (llvmpipe in CI):
 * several steps of KerasAdam over variables of awkward sizes equal the cpu backend's
 * op-by-op update within 1e-4 relative; one step is one dispatch per group (counted
 * on Dawn's compute-pass encoder); the state survives getState/setState; a missing
 * gradient falls back to the op-by-op update with Keras' skip semantics.
 * No adapter: the test FAILS naming the reason (run `bash scripts/setup.sh`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../src/ml/backend.ts';
import { loadTf } from '../src/ml/backend.ts';
import { KerasAdam } from '../src/ml/train/adam.ts';
import { ADAM_MULTI_KERNEL } from '../src/ml/webgpu/adam.ts';

const SHAPES = [[3, 3, 5, 7], [7], [1], [33, 17], [2, 2, 2, 2, 3]];
const CFG = { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/** Deterministic pseudo-random floats. */
function values(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** Runs `steps` updates on the active backend; returns the final variables and moments. */
async function runSteps(tf: Tf, fused: boolean, steps: number, dropGradOf = -1): Promise<{ x: Float32Array[]; m: Float32Array[]; v: Float32Array[] }> {
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), 10 + i, 1), s), true, `v${i}_${Math.random()}`));
  const adam = new KerasAdam(tf as never, vars as never, CFG, { fused });
  for (let t = 0; t < steps; t++) {
    const grads = vars.map((v, i) => (i === dropGradOf && t === 1 ? null : tf.tensor(values(v.size, 100 * t + i, 0.5 + t), v.shape)));
    adam.apply(grads);
    tf.dispose(grads.filter((g): g is TF.Tensor => g !== null));
  }
  const x = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  const st = await adam.getState();
  adam.dispose();
  tf.dispose(vars);
  return { x, m: st.m, v: st.v };
}

function assertClose(got: Float32Array[], want: Float32Array[], what: string): void {
  for (let i = 0; i < want.length; i++) {
    for (let j = 0; j < want[i]!.length; j++) {
      const a = got[i]![j]!;
      const b = want[i]![j]!;
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(b), 1e-3), `${what}[${i}][${j}]: webgpu ${a} vs cpu ${b}`);
    }
  }
}

test('fused webgpu Adam equals the cpu op-by-op update (1e-4 relative) over 3 steps', async () => {
  const { tf, backend } = await loadTf({ prefer: 'webgpu' }).catch((e: Error) => {
    throw new Error(`no webgpu backend (${e.message}); run bash scripts/setup.sh`);
  });
  assert.equal(backend, 'webgpu');
  assert.ok(tf.getKernel(ADAM_MULTI_KERNEL, 'webgpu'), `${ADAM_MULTI_KERNEL} is registered`);
  const gpu = await runSteps(tf, true, 3);
  await tf.setBackend('cpu');
  const cpu = await runSteps(tf, false, 3);
  await tf.setBackend('webgpu');
  assertClose(gpu.x, cpu.x, 'x');
  assertClose(gpu.m, cpu.m, 'm');
  assertClose(gpu.v, cpu.v, 'v');
});

test('one KerasAdam step on webgpu is exactly one dispatch for all variables', async () => {
  const { tf } = await loadTf({ prefer: 'webgpu' });
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), i, 1), s)));
  const grads = vars.map((v, i) => tf.tensor(values(v.size, 50 + i, 1), v.shape));
  for (const t of [...vars, ...grads]) await t.data(); // on the GPU before counting
  const adam = new KerasAdam(tf as never, vars as never, CFG);
  adam.apply(grads); // first step builds the flat moments (concat)
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: { dispatchWorkgroups: (...a: number[]) => void } } }).GPUComputePassEncoder.prototype;
  const orig = proto.dispatchWorkgroups;
  let n = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...a: number[]) {
    n++;
    return orig.apply(this, a);
  };
  adam.apply(grads);
  adam.apply(grads);
  proto.dispatchWorkgroups = orig;
  assert.equal(n, 2, 'two steps, two dispatches');
  adam.dispose();
  tf.dispose([...vars, ...grads]);
});

test('state round trip and a missing gradient (Keras skips that variable) agree with cpu', async () => {
  const { tf } = await loadTf({ prefer: 'webgpu' });
  const gpu = await runSteps(tf, true, 3, 2);
  await tf.setBackend('cpu');
  const cpu = await runSteps(tf, false, 3, 2);
  await tf.setBackend('webgpu');
  assertClose(gpu.x, cpu.x, 'x');
  assertClose(gpu.m, cpu.m, 'm');
});
