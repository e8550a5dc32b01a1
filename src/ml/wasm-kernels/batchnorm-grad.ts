/**
 * One-pass gradient of FusedBatchNorm for the wasm backend.
 *
 * tfjs composes the FusedBatchNorm gradient from about ten full-size elementwise
 * ops, a Tile and four reductions per BatchNorm layer; ResNet50 has 53 of them, so
 * in a wasm training step that costs seconds of memory traffic. Here the gradient
 * of every input (x, mean, variance, scale, offset) comes from one kernel making
 * two passes: per-channel sums of dy and dy*(x-mean), then dx = dy*scale/sqrt(var+eps)
 * (both passes in ./gemm.ts's SIMD module when the channel count is a multiple of 4:
 * float32 lanes over blocks of 32 rows, float64 across blocks).
 *
 * The gradient registry is global, so the replacement delegates to tfjs' own
 * gradient whenever the active backend is not wasm or the shapes are not the
 * channels-last [C]-parameter case.
 */
import type { Tf } from '../tf.ts';
import { originalGradient, type GradFunc, type Tensor } from './grad-registry.ts';
import type { WasmBackendLike } from './conv-grads.ts';
import { gemmKernels } from './gemm.ts';

/** Rows per SIMD partial sum: float32 lanes over a short block, float64 across blocks. */
const SUM_BLOCK = 32;

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** Name of the kernel computing all five gradients at once (wasm only). */
export const BATCH_NORM_GRAD_KERNEL = 'DagFusedBatchNormGrad';


/** The five gradients from one kernel: [dx, dmean, dvariance, dscale, doffset]. */
function batchNormGradKernel(args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const dy = inputs['dy']!;
  const x = inputs['x']!;
  const mean = inputs['mean']!;
  const variance = inputs['variance']!;
  const scale = inputs['scale'];
  const eps = attrs['varianceEpsilon'] as number;
  const cols = x.shape[x.shape.length - 1]!;
  const outs = [
    backend.makeOutput([...x.shape], 'float32'),
    ...[0, 1, 2, 3].map(() => backend.makeOutput([...mean.shape], 'float32')),
  ] as [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const memory = backend.wasm?.asm?.memory;
  const kern = cols % 4 === 0 && x.shape.every((d) => d > 0) && memory instanceof WebAssembly.Memory ? gemmKernels(memory) : null;
  // Scratch for the SIMD path: block sums s1, s2 and the per-channel gain (3 x cols).
  const scratch = kern === null ? null : backend.makeOutput([3 * cols], 'float32');
  // Views only after every allocation (the heap may grow and detach older views).
  const dyv = backend.typedArrayFromHeap(dy);
  const xv = backend.typedArrayFromHeap(x);
  const mv = backend.typedArrayFromHeap(mean);
  const vv = backend.typedArrayFromHeap(variance);
  const sv = scale === undefined ? null : backend.typedArrayFromHeap(scale);
  const [dx, dmean, dvar, dscale, doffset] = outs.map((t) => backend.typedArrayFromHeap(t)) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const sumDy = new Float64Array(cols);
  const sumDyXc = new Float64Array(cols);
  const rows = xv.length / cols;
  const sc = scratch === null ? null : backend.typedArrayFromHeap(scratch);
  if (kern !== null && sc !== null) {
    const dyB = dyv.byteOffset;
    const xB = xv.byteOffset;
    const mB = mv.byteOffset;
    const s1 = sc.subarray(0, cols);
    const s2 = sc.subarray(cols, 2 * cols);
    for (let r0 = 0; r0 < rows; r0 += SUM_BLOCK) {
      const n = Math.min(SUM_BLOCK, rows - r0);
      s1.fill(0);
      s2.fill(0);
      kern.bnSums(dyB + r0 * cols * 4, xB + r0 * cols * 4, mB, s1.byteOffset, s2.byteOffset, n, cols * 4);
      for (let c = 0; c < cols; c++) {
        sumDy[c] = sumDy[c]! + s1[c]!;
        sumDyXc[c] = sumDyXc[c]! + s2[c]!;
      }
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) {
        const d = dyv[o + c]!;
        sumDy[c] = sumDy[c]! + d;
        sumDyXc[c] = sumDyXc[c]! + d * (xv[o + c]! - mv[c]!);
      }
    }
  }
  const gain = sc === null ? new Float32Array(cols) : sc.subarray(2 * cols, 3 * cols);
  for (let c = 0; c < cols; c++) {
    const inv = 1 / Math.sqrt(vv[c]! + eps);
    const s = sv === null ? 1 : sv[c]!;
    gain[c] = inv * s;
    dmean[c] = -inv * s * sumDy[c]!;
    dvar[c] = -0.5 * inv * inv * inv * s * sumDyXc[c]!;
    dscale[c] = inv * sumDyXc[c]!;
    doffset[c] = sumDy[c]!;
  }
  if (kern !== null && scratch !== null) {
    kern.scaleCols(dyv.byteOffset, gain.byteOffset, dx.byteOffset, rows, cols * 4);
    backend.disposeData(scratch.dataId);
    return outs;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) dx[o + c] = dyv[o + c]! * gain[c]!;
  }
  return outs;
}

/**
 * FusedBatchNorm forward on the SIMD module when every parameter is a [C] vector of
 * the last axis and C % 4 == 0 (the per-element division and index wrapping of the
 * backend's loop made it ~130 ms of a ResNet50 step); else the backend's kernel.
 */
export function makeBatchNormForward(tf: Tf): (args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> }) => TensorInfo {
  const k = tf.getKernel('FusedBatchNorm', 'wasm');
  if (k === undefined) throw new Error('wasm kernel FusedBatchNorm is not registered');
  const builtin = k.kernelFunc as unknown as (args: unknown) => TensorInfo;
  return (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs['x']!;
    const cols = x.shape[x.shape.length - 1] ?? 0;
    const params = [inputs['mean'], inputs['variance'], inputs['scale'], inputs['offset']];
    const memory = backend.wasm?.asm?.memory;
    const vecOk = (t: TensorInfo | undefined): boolean => t === undefined || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === cols);
    const ok = x.dtype === 'float32' && x.shape.length >= 2 && cols % 4 === 0 && params[0] !== undefined && params[1] !== undefined && params.every(vecOk) && memory instanceof WebAssembly.Memory;
    const kern = ok ? gemmKernels(memory) : null;
    if (kern === null || x.shape.some((d) => d === 0)) return builtin(args);
    const out = backend.makeOutput([...x.shape], 'float32');
    // Per-channel scale, normalisation factor and offset (defaults 1 and 0), as float32.
    const pv = backend.makeOutput([3 * cols], 'float32');
    const p = backend.typedArrayFromHeap(pv);
    const vv = backend.typedArrayFromHeap(inputs['variance']!);
    const eps = Math.fround(attrs['varianceEpsilon'] as number);
    const sc = inputs['scale'] === undefined ? null : backend.typedArrayFromHeap(inputs['scale']);
    const of = inputs['offset'] === undefined ? null : backend.typedArrayFromHeap(inputs['offset']);
    for (let c = 0; c < cols; c++) {
      p[c] = sc === null ? 1 : sc[c]!;
      p[cols + c] = Math.sqrt(Math.fround(vv[c]! + eps));
      p[2 * cols + c] = of === null ? 0 : of[c]!;
    }
    const xv = backend.typedArrayFromHeap(x);
    kern.bnApply(xv.byteOffset, backend.typedArrayFromHeap(inputs['mean']!).byteOffset, p.byteOffset, p.byteOffset + cols * 4, p.byteOffset + 8 * cols, backend.typedArrayFromHeap(out).byteOffset, xv.length / cols, cols * 4);
    backend.disposeData(pv.dataId);
    return out;
  };
}

/**
 * Registers the one-pass kernel (wasm) and a FusedBatchNorm gradient that uses it on
 * wasm and tfjs' own gradient elsewhere. Returns false when the original gradient
 * cannot be found (then nothing is changed).
 */
export function registerBatchNormGrad(tf: Tf): boolean {
  const original = originalGradient('FusedBatchNorm');
  if (original === undefined) return false;
  if (tf.getKernel(BATCH_NORM_GRAD_KERNEL, 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: BATCH_NORM_GRAD_KERNEL,
      backendName: 'wasm',
      kernelFunc: batchNormGradKernel as unknown as Parameters<Tf['registerKernel']>[0]['kernelFunc'],
    });
  }
  const gradFunc: GradFunc = (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved;
    const single = (t: Tensor | undefined, c: number): boolean => t === undefined || t === null || (t.rank === 1 && t.shape[0] === c && t.dtype === 'float32');
    const c = x?.shape[x.shape.length - 1] ?? -1;
    const fast =
      tf.getBackend() === 'wasm' &&
      !Array.isArray(dy) &&
      x !== undefined &&
      x.dtype === 'float32' &&
      x.rank >= 2 &&
      mean !== undefined &&
      variance !== undefined &&
      mean.rank === 1 &&
      single(mean, c) &&
      single(variance, c) &&
      single(scale ?? undefined, c);
    if (!fast) return original.gradFunc(dy, saved, attrs);
    const inputs: Record<string, Tensor> = { dy: dy as Tensor, x: x!, mean: mean!, variance: variance! };
    if (scale !== undefined && scale !== null) inputs['scale'] = scale;
    const outs = tf.engine().runKernel(BATCH_NORM_GRAD_KERNEL, inputs as never, { varianceEpsilon: attrs['varianceEpsilon'] } as never) as unknown as Tensor[];
    const [gx, gmean, gvar, gscale, goffset] = outs as [Tensor, Tensor, Tensor, Tensor, Tensor];
    return { x: () => gx, mean: () => gmean, variance: () => gvar, scale: () => gscale, offset: () => goffset };
  };
  tf.registerGradient({ ...original, gradFunc } as unknown as Parameters<Tf['registerGradient']>[0]);
  return true;
}
