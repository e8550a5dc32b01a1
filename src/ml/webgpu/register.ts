/**
 * The ONE place that registers this project's WebGPU kernels on tfjs' `webgpu` backend
 * (called by `loadTf()` in ../backend.ts right after the backend starts). Every kernel
 * family adds one entry to `FAMILIES` below; `DAG_WEBGPU_KERNELS_OFF=Name,Name` keeps
 * tfjs' own kernels for those names (A/B benchmarks, bug hunting), as
 * `DAG_WASM_KERNELS_OFF` does for the wasm kernels.
 */
import type { Tf } from '../tf.ts';
import { ADAM_FAMILY } from './adam.ts';
import { BATCHNORM_FAMILY } from './batchnorm-layer.ts';
import { CONV_FAMILY } from './conv.ts';
import { RELU_GRAD_FAMILY } from './relu-grad.ts';

/**
 * A family of kernels: `register(tf, off)` registers the family's kernels except those
 * named in `off`, and returns the names it registered (or replaced).
 */
export interface WebGpuKernelFamily {
  /** Short name shown by `dag doctor` when the family fails to register. */
  readonly name: string;
  readonly register: (tf: Tf, off: ReadonlySet<string>) => readonly string[];
}

// ======================================================================================
// KERNEL LIST: one line per family, in registration order. Add yours here.
//   gpu-backend:  fused multi-tensor Keras Adam
//   gpu-kernels:  training-mode BatchNorm forward/backward, GEMM-based convolutions
// ======================================================================================
const FAMILIES: readonly WebGpuKernelFamily[] = [
  ADAM_FAMILY, // ./adam.ts: DagKerasAdamMulti
  CONV_FAMILY, // ./conv.ts: GEMM-based Conv2D and its backprop kernels
  BATCHNORM_FAMILY, // ./batchnorm-layer.ts: DagBatchNormTrain (+ grad), training-mode BatchNorm layers routed to it
  RELU_GRAD_FAMILY, // ./relu-grad.ts: DagReluGrad
];
// ======================================================================================

const registered = new WeakMap<object, readonly string[]>();

/** Names in DAG_WEBGPU_KERNELS_OFF. */
export function kernelsOff(): ReadonlySet<string> {
  return new Set((process.env['DAG_WEBGPU_KERNELS_OFF'] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''));
}

/**
 * Registers every family's kernels on `tf`'s webgpu backend (idempotent per tf instance)
 * and returns the kernel names. Must run after `tf.setBackend('webgpu')` resolved.
 */
export function registerWebGpuKernels(tf: Tf, families: readonly WebGpuKernelFamily[] = FAMILIES): readonly string[] {
  const done = registered.get(tf);
  if (done !== undefined) return done;
  const off = kernelsOff();
  const names: string[] = [];
  for (const f of families) names.push(...f.register(tf, off));
  registered.set(tf, names);
  return names;
}
