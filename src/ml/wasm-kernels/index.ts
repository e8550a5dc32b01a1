/**
 * Kernels this project adds to (or replaces in) the tfjs wasm backend so that
 * conv nets train there, and fast:
 * - ./conv-grads.ts: Conv2DBackpropFilter (missing in wasm), Conv2DBackpropInput
 *   (wasm's is a naive loop), FusedConv2D for freshly-updated deep-layer filters;
 * - ./layout-kernels.ts: Tile and leading-axis Sum/Mean (BatchNorm gradients),
 *   a zero-copy Identity (tensors saved for the backward pass) and same-dtype Cast;
 * - ./batchnorm-grad.ts: a one-pass FusedBatchNorm gradient and a SIMD forward;
 * - ./gemm.ts + ./conv-gemm.ts: a SIMD GEMM on the wasm heap behind the training-time
 *   convolutions (DAG_WASM_KERNELS_OFF=Gemm falls back to XNNPACK-based paths);
 * - ./pool-grad.ts: MaxPoolGrad in one streaming pass;
 * - ./adam-kernel.ts: `DagKerasAdam`, one fused pass per variable for ../train/adam.ts.
 * docs/ml-runtime.md has the measurements behind each choice.
 */
import type { Tf } from '../tf.ts';
import { makeConvGradKernels } from './conv-grads.ts';
import { makeLayoutKernels } from './layout-kernels.ts';
import { makeBatchNormForward, registerBatchNormGrad } from './batchnorm-grad.ts';
import { ADAM_KERNEL, registerAdamKernel } from './adam-kernel.ts';
import { registerMeanGrad } from './mean-grad.ts';
import { makeMaxPoolGrad } from './pool-grad.ts';

const registered = new WeakSet<object>();

/** Kernels replaced or added on the wasm backend. */
export const KERNEL_NAMES = ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'FusedConv2D', 'Tile', 'Sum', 'Mean', 'Identity', 'Cast', 'MaxPoolGrad', 'FusedBatchNorm'] as const;

/**
 * Registers this project's wasm kernels on `tf`'s kernel registry and returns
 * their names. Idempotent per tf instance. Must run after the wasm backend is
 * registered (it captures the backend's own Conv2D and BatchMatMul kernels).
 */
export function registerWasmKernels(tf: Tf): readonly string[] {
  // DAG_WASM_KERNELS_OFF=Name,Name keeps the backend's own kernels (for A/B benchmarks).
  const off = new Set((process.env['DAG_WASM_KERNELS_OFF'] ?? '').split(',').map((n) => n.trim()));
  const names = KERNEL_NAMES.filter((n) => !off.has(n));
  const extras = (): string[] => [
    ...(!off.has('FusedBatchNormGrad') ? ['FusedBatchNormGrad'] : []),
    ...(!off.has('MeanGrad') ? ['MeanGrad'] : []),
    ...(tf.getKernel(ADAM_KERNEL, 'wasm') !== undefined ? [ADAM_KERNEL] : []),
  ];
  if (registered.has(tf)) return [...names, ...extras()];
  // Build every replacement first: they capture the built-in kernels they fall back on.
  const { backpropInput, backpropFilter, fusedConv2D } = makeConvGradKernels(tf);
  const layout = makeLayoutKernels(tf);
  const maxPoolGrad = makeMaxPoolGrad(tf);
  const batchNormForward = makeBatchNormForward(tf);
  const kernels: Record<(typeof KERNEL_NAMES)[number], unknown> = {
    Conv2DBackpropInput: backpropInput,
    Conv2DBackpropFilter: backpropFilter,
    FusedConv2D: fusedConv2D,
    Tile: layout.Tile,
    Sum: layout.Sum,
    Mean: layout.Mean,
    Identity: layout.Identity,
    Cast: layout.Cast,
    MaxPoolGrad: maxPoolGrad,
    FusedBatchNorm: batchNormForward,
  };
  for (const name of names) {
    // registerKernel refuses to overwrite silently: drop the built-in first.
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: kernels[name] as Parameters<Tf['registerKernel']>[0]['kernelFunc'],
    });
  }
  registered.add(tf);
  // The gradient (not a kernel) of FusedBatchNorm; it delegates to tfjs' own off wasm.
  if (!off.has('FusedBatchNormGrad') && !registerBatchNormGrad(tf)) off.add('FusedBatchNormGrad');
  if (!off.has('MeanGrad') && !registerMeanGrad(tf)) off.add('MeanGrad');
  // The fused Keras-Adam update (used by ../train/adam.ts when registered).
  if (!off.has(ADAM_KERNEL)) registerAdamKernel(tf);
  return [...names, ...extras()];
}
