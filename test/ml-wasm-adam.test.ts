/**
 * The fused Keras-Adam kernel on wasm (src/ml/wasm-kernels/adam-kernel.ts) gives
 * bit-identical variables and moments to the op-by-op update of KerasAdam, and the
 * old buffers (which XNNPACK may have cached) are never written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf, type Tf } from '../src/ml/backend.ts';
import { values } from './fixtures/wasm-compare.ts';
import { KerasAdam } from '../src/ml/train/adam.ts';
import { ADAM_KERNEL } from '../src/ml/wasm-kernels/adam-kernel.ts';

const rt = await loadTf({ prefer: 'wasm' });
const tf: Tf = rt.tf;

test('fused Adam equals the op-by-op update bit for bit (ragged sizes, 3 steps), without touching old buffers', async () => {
  assert.ok(rt.info.customKernels.includes(ADAM_KERNEL), 'kernel registered');
  // Sizes: a scalar-like bias, a ragged tail (n % 4 = 1, 3) and a SIMD-only block.
  const shapes = [[1], [5], [3, 5, 7], [16, 4]];
  const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
  const make = (): import('@tensorflow/tfjs').Variable[] => shapes.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), 10 + i), s)));
  const fusedVars = make();
  const refVars = make();
  const fused = new KerasAdam(tf, fusedVars, cfg);
  const ref = new KerasAdam(tf, refVars, cfg, { fused: false });
  const before = fusedVars.map((v) => new Float32Array(v.dataSync() as Float32Array));
  const held = fusedVars.map((v) => v.clone()); // shares the buffer: must keep the old values
  for (let step = 0; step < 3; step++) {
    const grads = shapes.map((s, i) => tf.tensor(values(s.reduce((a, b) => a * b, 1), 100 * step + i, step === 1 ? 1e-3 : 2), s));
    const prof = tf.tidy(() => {
      const names: string[] = [];
      const origRun = tf.engine().runKernel.bind(tf.engine());
      tf.engine().runKernel = ((name: string, ...rest: unknown[]) => {
        names.push(name);
        return (origRun as (...a: unknown[]) => unknown)(name, ...rest);
      }) as never;
      try {
        fused.apply(grads);
      } finally {
        tf.engine().runKernel = origRun;
      }
      return names;
    });
    assert.ok(prof.includes(ADAM_KERNEL), `step ${step}: fused kernel used (${prof.join(',')})`);
    ref.apply(grads);
    tf.dispose(grads);
  }
  const fs = await fused.getState();
  const rs = await ref.getState();
  fusedVars.forEach((v, i) => {
    assert.deepEqual(Array.from(v.dataSync()), Array.from(refVars[i]!.dataSync()), `variable ${i}`);
    assert.deepEqual(Array.from(fs.m[i]!), Array.from(rs.m[i]!), `m ${i}`);
    assert.deepEqual(Array.from(fs.v[i]!), Array.from(rs.v[i]!), `v ${i}`);
    assert.deepEqual(Array.from(held[i]!.dataSync()), Array.from(before[i]!), `clone ${i} unchanged`);
  });
  assert.equal(fused.step, 3);
  for (const o of [fused, ref]) o.dispose();
  tf.dispose([...fusedVars, ...refVars, ...held]);
});
