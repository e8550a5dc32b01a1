/**
 * Memory-bound kernels that the tfjs wasm backend implements slowly enough to
 * dominate a ResNet training step, re-done in JavaScript on the wasm heap.
 *
 * - `Tile`: the FusedBatchNorm gradient tiles a [C] vector up to the full
 *   [N,H,W,C] activation shape; wasm's generic per-element Tile took about as
 *   long as all forward convolutions together. Here: block copies with
 *   `copyWithin`, replicating whole inner blocks.
 * - `Sum` / `Mean` over leading axes (BatchNorm statistics and gradients reduce
 *   [N,H,W,C] over N,H,W): wasm transposes the whole tensor first with a naive
 *   transpose. Here: one streaming pass that accumulates rows into a [C] vector
 *   (./gemm.ts's SIMD `colSums` when C is a multiple of 4).
 *   Other reductions fall back to the backend's own kernel.
 * - `Identity`, and `Cast` to the same dtype: share the buffer instead of copying it.
 */
import type { Tf } from '../tf.ts';
import type { WasmBackendLike } from './conv-grads.ts';
import { gemmKernels } from './gemm.ts';

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface Backend extends WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  incRef(dataId: object): void;
}
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: Backend; attrs: Record<string, unknown> }) => TensorInfo;

type Heap = Float32Array | Int32Array | Uint8Array;
const heap = (backend: Backend, t: TensorInfo): Heap => backend.typedArrayFromHeap(t) as unknown as Heap;

/** Tiles `src` (shape `shape`) by `reps` into `dst` (shape shape*reps), both row-major. */
export function tileInto(src: Heap, dst: Heap, shape: readonly number[], reps: readonly number[]): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  const outDims = shape.map((s, i) => s * reps[i]!);
  // inner[i] = elements of one output slab below axis i; srcInner likewise for the input.
  const inner: number[] = new Array<number>(rank + 1).fill(1);
  const srcInner: number[] = new Array<number>(rank + 1).fill(1);
  for (let i = rank - 1; i >= 0; i--) {
    inner[i] = inner[i + 1]! * outDims[i]!;
    srcInner[i] = srcInner[i + 1]! * shape[i]!;
  }
  const write = (axis: number, so: number, dO: number): void => {
    const s = shape[axis]!;
    const slab = inner[axis + 1]!;
    if (axis === rank - 1) {
      dst.set(src.subarray(so, so + s) as never, dO);
    } else {
      for (let i = 0; i < s; i++) write(axis + 1, so + i * srcInner[axis + 1]!, dO + i * slab);
    }
    // Replicate the first copy r-1 times, doubling the copied span each round.
    const block = s * slab;
    const total = block * reps[axis]!;
    let done = block;
    while (done < total) {
      const n = Math.min(done, total - done);
      dst.copyWithin(dO + done, dO, dO + n);
      done += n;
    }
  };
  write(0, 0, 0);
}

/** Builds the replacement kernels, falling back to the built-in ones outside their fast cases. */
export function makeLayoutKernels(tf: Tf): { Tile: KernelFn; Sum: KernelFn; Mean: KernelFn; Identity: KernelFn; Cast: KernelFn } {
  const builtin = (name: string): KernelFn => {
    const k = tf.getKernel(name, 'wasm');
    if (k === undefined) throw new Error(`wasm kernel ${name} is not registered`);
    return k.kernelFunc as unknown as KernelFn;
  };
  const builtinTile = builtin('Tile');
  const builtinSum = builtin('Sum');
  const builtinMean = builtin('Mean');
  const builtinIdentity = builtin('Identity');
  const builtinCast = builtin('Cast');

  const Tile: KernelFn = (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs['x']!;
    const reps = attrs['reps'] as number[];
    if (x.dtype === 'string' || reps.length !== x.shape.length) return builtinTile(args);
    const out = backend.makeOutput(x.shape.map((s, i) => s * reps[i]!), x.dtype);
    if (out.shape.some((d) => d === 0)) return out;
    tileInto(heap(backend, x), heap(backend, out), x.shape, reps);
    return out;
  };

  /** Reduces leading axes [0, k) of a float32 tensor: the fast path; null when not applicable. */
  const leadingReduce = (args: Parameters<KernelFn>[0], mean: boolean): TensorInfo | null => {
    const { inputs, backend, attrs } = args;
    const x = inputs['x']!;
    if (x.dtype !== 'float32') return null;
    const rank = x.shape.length;
    const raw = attrs['axis'] as number | number[] | null | undefined;
    const list = raw === null || raw === undefined ? x.shape.map((_, i) => i) : Array.isArray(raw) ? raw : [raw];
    const axes = [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
    // Only the "leading axes" pattern, and not all axes (the builtin is fine there).
    if (axes.length === 0 || axes.length === rank) return null;
    for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return null;
    const keepDims = attrs['keepDims'] === true;
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(axes.length);
    const cols = inner.reduce((a, b) => a * b, 1);
    const outShape = keepDims ? [...x.shape.slice(0, axes.length).map(() => 1), ...inner] : inner;
    const out = backend.makeOutput(outShape, 'float32');
    const memory = (backend as WasmBackendLike).wasm?.asm?.memory;
    const kern = cols % 4 === 0 && rows > 0 && memory instanceof WebAssembly.Memory ? gemmKernels(memory) : null;
    const block = kern === null ? null : backend.makeOutput([cols], 'float32');
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    // Accumulate in float64 for accuracy comparable to wasm's pairwise sums.
    const acc = new Float64Array(cols);
    if (kern !== null && block !== null) {
      // SIMD: float32 lanes over blocks of 32 rows, float64 across blocks.
      const bs = backend.typedArrayFromHeap(block);
      for (let r0 = 0; r0 < rows; r0 += 32) {
        bs.fill(0);
        kern.colSums(src.byteOffset + r0 * cols * 4, bs.byteOffset, Math.min(32, rows - r0), cols * 4);
        for (let c = 0; c < cols; c++) acc[c] = acc[c]! + bs[c]!;
      }
      backend.disposeData(block.dataId);
      const scale = mean ? 1 / rows : 1;
      for (let c = 0; c < cols; c++) dst[c] = acc[c]! * scale;
      return out;
    }
    // Four rows per pass: a quarter of the accumulator loads and stores.
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const o0 = r * cols;
      const o1 = o0 + cols;
      const o2 = o1 + cols;
      const o3 = o2 + cols;
      for (let c = 0; c < cols; c++) acc[c] = acc[c]! + (src[o0 + c]! + src[o1 + c]! + (src[o2 + c]! + src[o3 + c]!));
    }
    for (; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) acc[c] = acc[c]! + src[o + c]!;
    }
    const scale = mean ? 1 / rows : 1;
    for (let c = 0; c < cols; c++) dst[c] = acc[c]! * scale;
    return out;
  };

  const Sum: KernelFn = (args) => leadingReduce(args, false) ?? builtinSum(args);
  const Mean: KernelFn = (args) => leadingReduce(args, true) ?? builtinMean(args);
  /**
   * tfjs clones every tensor a kernel saves for the backward pass (engine
   * `saveTensorsForBackwardMode`), and wasm's Identity copies the data: over a
   * thousand full-size copies per ResNet step. Tensor data is immutable in tfjs
   * (the cpu and webgl backends share it the same way), so share the buffer and
   * count the reference, as wasm's own Reshape does.
   */
  const Identity: KernelFn = (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string') return builtinIdentity(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };

  /**
   * Cast to the dtype the tensor already has (BatchNorm's moments cast x to float32,
   * and so do their gradients: ~175 full-size copies per ResNet50 step) shares the
   * buffer like Identity; real conversions use the backend's kernel.
   */
  const Cast: KernelFn = (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string' || args.attrs['dtype'] !== x.dtype) return builtinCast(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };

  return { Tile, Sum, Mean, Identity, Cast };
}
