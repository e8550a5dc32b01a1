/**
 * MaxPoolGrad for the wasm backend in JavaScript on the heap.
 *
 * The backend's own kernel took ~80 ms for ResNet50's single 3x3/2 max pool at
 * 112x112 input (batch 8), as long as a large convolution gradient. Here: one pass
 * over the output windows, each window's arg-max kept per channel (channels are
 * contiguous, so the inner loops stream), then dy scatter-added to the arg-max.
 * Ties go to the first maximum in row-major window order, as in tfjs' cpu backend.
 * Only NHWC float32 without dilation; anything else uses the backend's kernel.
 */
import type { Tf } from '../tf.ts';
import type { WasmBackendLike } from './conv-grads.ts';

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> }) => TensorInfo;

/** Builds the replacement, falling back on the backend's kernel it captures. */
export function makeMaxPoolGrad(tf: Tf): KernelFn {
  const k = tf.getKernel('MaxPoolGrad', 'wasm');
  if (k === undefined) throw new Error('wasm kernel MaxPoolGrad is not registered');
  const builtin = k.kernelFunc as unknown as KernelFn;
  return (args) => {
    const { inputs, backend, attrs } = args;
    const dy = inputs['dy']!;
    const x = inputs['input']!;
    if (x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4) return builtin(args);
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs['filterSize'] as [number, number] | number,
      attrs['strides'] as [number, number] | number,
      1,
      attrs['pad'] as 'same' | 'valid' | number,
      attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    );
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return builtin(args);
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const out = backend.makeOutput([...x.shape], 'float32');
    const xv = backend.typedArrayFromHeap(x);
    const dyv = backend.typedArrayFromHeap(dy);
    const dx = backend.typedArrayFromHeap(out);
    dx.fill(0);
    const best = new Float32Array(c);
    const pos = new Int32Array(c);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        const r0 = i * info.strideHeight - info.padInfo.top;
        const r1 = Math.min(h, r0 + info.filterHeight);
        for (let j = 0; j < ow; j++) {
          const c0 = j * info.strideWidth - info.padInfo.left;
          const c1 = Math.min(w, c0 + info.filterWidth);
          best.fill(Number.NEGATIVE_INFINITY);
          pos.fill(-1);
          for (let r = Math.max(0, r0); r < r1; r++) {
            for (let q = Math.max(0, c0); q < c1; q++) {
              const base = ((b * h + r) * w + q) * c;
              for (let d = 0; d < c; d++) {
                const v = xv[base + d]!;
                if (v > best[d]!) {
                  best[d] = v;
                  pos[d] = base + d;
                }
              }
            }
          }
          const o = ((b * oh + i) * ow + j) * c;
          for (let d = 0; d < c; d++) {
            const p = pos[d]!;
            if (p >= 0) dx[p] = dx[p]! + dyv[o + d]!;
          }
        }
      }
    }
    return out;
  };
}
