/**
 * This project's kernels for tfjs' `webgpu` backend (Dawn through the `webgpu` npm package):
 * - ./register.ts: the single registration list, called by `loadTf()` (../backend.ts);
 * - ./adam.ts: `DagKerasAdamMulti`, one fused Keras-Adam pass over all variables per step;
 * - batchnorm*.ts, conv*.ts, gemm*.ts: training-mode BatchNorm and GEMM-based convolutions.
 * docs/ml-runtime.md ("WebGPU") has the design and the measurements.
 */
export { registerWebGpuKernels, kernelsOff, type WebGpuKernelFamily } from './register.ts';
