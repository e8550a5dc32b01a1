/**
 * Fast Conv2D gradient kernels (and a training-time FusedConv2D) for the tfjs
 * wasm backend.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` at all (training a conv net
 * fails) and its `Conv2DBackpropInput` is a naive loop about 10x slower than the
 * forward convolution. Both are rebuilt here from the backend's fast primitives
 * (XNNPACK `Conv2D` and `BatchMatMul` without transposes) plus data re-layout done
 * in JavaScript directly on the wasm heap, because the backend's own `Transpose`
 * and transposed matmuls are naive and slower than the arithmetic they feed.
 *
 * Where ./gemm.ts's SIMD module is available (always, unless switched off with
 * DAG_WASM_KERNELS_OFF=Gemm) the three kernels run on it instead, because XNNPACK
 * re-packs every fresh operand and in training every operand is fresh:
 * - FusedConv2D on a filter's first use and backprop-input for stride 1 or 1x1
 *   filters: ./conv-gemm.ts's implicit-im2col tap GEMM (strided backprop-input:
 *   `dy x W^T` on the GEMM, then col2im);
 * - backprop-filter: `dW = col^T x dy` straight into dW (pointwise convs, deep
 *   layers with fewer output pixels than filters, few input channels), else
 *   `dW^T = dy^T x col` with col packed from x, then one transpose.
 * The XNNPACK-based paths below remain for the rest and as the fallback:
 * - backprop-input: a stride-1 forward convolution of the (stride-dilated,
 *   padded) output gradient with the spatially flipped, in/out-swapped filter; a
 *   1x1 convolution with any stride is a 1x1 convolution plus a scatter.
 * - backprop-filter: an im2col matrix `col [N*OH*OW, KH*KW*Cin]` (for a 1x1
 *   stride-1 convolution it is x itself) contracted with dy over the N*OH*OW
 *   axis by ONE non-transposed matmul; the operand with more columns is
 *   transposed in JS first (see the packing note in the kernel).
 *
 * Kernel functions receive TensorInfos and must return fresh ones: every
 * intermediate made here is disposed with `backend.disposeData` before return.
 */
import type { Tf } from '../tf.ts';
import { gemm, gemmKernels, packRowMajor, packStrided, type GemmKernels } from './gemm.ts';
import { convTaps, filterGradT, packedSize, packFilterTaps, packTransposedTaps, type FilterGradGeometry, type HeapAccess, type Tap } from './conv-gemm.ts';

/** The subset of tfjs' TensorInfo the kernels use. */
interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** The subset of tfjs-backend-wasm's BackendWasm the kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  /** The Emscripten module; `asm.memory` is the heap's WebAssembly.Memory. */
  wasm?: { asm?: { memory?: WebAssembly.Memory } };
}

type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> }) => TensorInfo;

/** Geometry of one convolution, as the gradient kernels need it: the filter gradient's plus the far-side padding. */
interface ConvGeometry extends FilterGradGeometry {
  padBottom: number;
  padRight: number;
}

function geometry(tf: Tf, xShape: number[], filterShape: number[], attrs: Record<string, unknown>): ConvGeometry {
  const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`wasm conv gradient: dataFormat ${dataFormat} is not supported (use NHWC)`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs['strides'] as [number, number] | number,
    1,
    attrs['pad'] as 'same' | 'valid' | number,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    cin: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    cout: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
  };
}

/** Cache-blocked 2-D transpose: dst[c * rows + r] = src[r * cols + c]. */
export function transpose2d(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(r0 + B, rows);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(c0 + B, cols);
      for (let r = r0; r < r1; r++) {
        const so = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[so + c]!;
      }
    }
  }
}

/** Looks up a built-in wasm kernel (captured before ours replace any of them). */
function builtin(tf: Tf, name: string): KernelFn {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc as unknown as KernelFn;
}

/** Builds the two gradient kernel functions bound to `tf`'s wasm kernels. */
export function makeConvGradKernels(tf: Tf): { backpropInput: KernelFn; backpropFilter: KernelFn; fusedConv2D: KernelFn } {
  const conv2d = builtin(tf, 'Conv2D');
  const builtinFusedConv2D = builtin(tf, 'FusedConv2D');
  const batchMatMul = builtin(tf, 'BatchMatMul');

  /** Allocates a float32 output and returns it with a heap view (take views after ALL allocations). */
  const alloc = (backend: WasmBackendLike, shape: number[]): TensorInfo => backend.makeOutput(shape, 'float32');
  const view = (backend: WasmBackendLike, t: TensorInfo): Float32Array => backend.typedArrayFromHeap(t);

  // The SIMD GEMM (./gemm.ts) on the backend's own memory; null (old paths only) when
  // unavailable or switched off with DAG_WASM_KERNELS_OFF=Gemm.
  const gemmOff = (process.env['DAG_WASM_KERNELS_OFF'] ?? '').split(',').some((n) => n.trim() === 'Gemm');
  let kern: GemmKernels | null | undefined = gemmOff ? null : undefined;
  const gemmFor = (backend: WasmBackendLike): GemmKernels | null => {
    if (kern === undefined) {
      const memory = backend.wasm?.asm?.memory;
      kern = memory instanceof WebAssembly.Memory ? gemmKernels(memory) : null;
    }
    return kern;
  };
  /** Element offset of a tensor's data in the heap. */
  const at = (backend: WasmBackendLike, t: TensorInfo): number => view(backend, t).byteOffset / 4;
  /** Scratch buffers as temporary tensors (pushed to `temps`, which the caller frees). */
  const heapAccess = (backend: WasmBackendLike, temps: TensorInfo[]): HeapAccess => ({
    scratch(floats: number): number {
      const t = alloc(backend, [Math.max(1, floats)]);
      temps.push(t);
      return at(backend, t);
    },
    heap(): Float32Array {
      const memory = backend.wasm!.asm!.memory!;
      return new Float32Array(memory.buffer);
    },
  });

  /** Filter [KH,KW,Cin,Cout] -> flipped [KH,KW,Cout,Cin] (for the transposed convolution). */
  function flippedFilter(backend: WasmBackendLike, filter: TensorInfo, g: ConvGeometry): TensorInfo {
    const out = alloc(backend, [g.kh, g.kw, g.cout, g.cin]);
    const src = view(backend, filter);
    const dst = view(backend, out);
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const so = (i * g.kw + j) * g.cin * g.cout;
        const dO = ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.cout * g.cin;
        for (let ci = 0; ci < g.cin; ci++) {
          for (let co = 0; co < g.cout; co++) dst[dO + co * g.cin + ci] = src[so + ci * g.cout + co]!;
        }
      }
    }
    return out;
  }

  /** col [rows, k]: the input patch behind each output pixel, tap-major then channel (zeros off the edge). */
  function im2col(backend: WasmBackendLike, x: TensorInfo, g: ConvGeometry, rows: number, k: number): TensorInfo {
    const col = alloc(backend, [rows, k]);
    const src = view(backend, x);
    const dst = view(backend, col);
    const cin = g.cin;
    for (let b = 0; b < g.n; b++) {
      for (let i = 0; i < g.oh; i++) {
        for (let j = 0; j < g.ow; j++) {
          let dO = ((b * g.oh + i) * g.ow + j) * k;
          for (let p = 0; p < g.kh; p++) {
            const r = i * g.sh + p - g.padTop;
            const rowOk = r >= 0 && r < g.h;
            for (let q = 0; q < g.kw; q++) {
              const c = j * g.sw + q - g.padLeft;
              if (rowOk && c >= 0 && c < g.w) {
                const so = ((b * g.h + r) * g.w + c) * cin;
                if (cin < 16) {
                  for (let t = 0; t < cin; t++) dst[dO + t] = src[so + t]!;
                } else {
                  dst.set(src.subarray(so, so + cin), dO);
                }
              } else {
                dst.fill(0, dO, dO + cin);
              }
              dO += cin;
            }
          }
        }
      }
    }
    return col;
  }

  /**
   * colT [1, k, rows] = im2col(x)^T built directly (no [rows, k] intermediate):
   * x is first made channel-major, after which every (tap, channel) row of colT
   * is a set of contiguous (stride 1) or strided runs along the input width.
   */
  function im2colT(backend: WasmBackendLike, x: TensorInfo, g: ConvGeometry, rows: number, k: number): TensorInfo {
    const pixels = g.n * g.h * g.w;
    const xT = alloc(backend, [g.cin, pixels]);
    const colT = alloc(backend, [1, k, rows]);
    const xt = view(backend, xT);
    transpose2d(view(backend, x), xt, pixels, g.cin);
    const dst = view(backend, colT);
    for (let p = 0; p < g.kh; p++) {
      for (let q = 0; q < g.kw; q++) {
        // Output columns j whose input column j*sw+q-padLeft lies inside [0, w).
        const j0 = Math.max(0, Math.ceil((g.padLeft - q) / g.sw));
        const j1 = Math.min(g.ow, Math.floor((g.w - 1 + g.padLeft - q) / g.sw) + 1);
        for (let c = 0; c < g.cin; c++) {
          const rowBase = ((p * g.kw + q) * g.cin + c) * rows;
          const cBase = c * pixels;
          for (let b = 0; b < g.n; b++) {
            for (let i = 0; i < g.oh; i++) {
              const dO = rowBase + (b * g.oh + i) * g.ow;
              const r = i * g.sh + p - g.padTop;
              if (r < 0 || r >= g.h || j1 <= j0) {
                dst.fill(0, dO, dO + g.ow);
                continue;
              }
              if (j0 > 0) dst.fill(0, dO, dO + j0);
              if (j1 < g.ow) dst.fill(0, dO + j1, dO + g.ow);
              const sBase = cBase + (b * g.h + r) * g.w + q - g.padLeft;
              if (g.sw === 1) {
                dst.set(xt.subarray(sBase + j0, sBase + j1), dO + j0);
              } else {
                for (let j = j0; j < j1; j++) dst[dO + j] = xt[sBase + j * g.sw]!;
              }
            }
          }
        }
      }
    }
    backend.disposeData(xT.dataId);
    return colT;
  }

  /** True when the convolution's input patches are the input pixels themselves (1x1, stride 1, no padding). */
  const isPointwise = (g: ConvGeometry): boolean =>
    g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0 && g.oh === g.h && g.ow === g.w;

  /**
   * Few output pixels, many weights (the deep stages): any formulation that hands
   * the weights to XNNPACK re-packs all of them per call, which costs more than the
   * arithmetic. So the weights go in as the streamed operand A:
   * colsT [k, rows] = W [k, cout] x dyT [cout, rows], then col2im.
   */
  function backpropInputSmallRows(backend: WasmBackendLike, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry, rows: number, k: number): TensorInfo {
    const dyT = alloc(backend, [1, g.cout, rows]);
    transpose2d(view(backend, dy), view(backend, dyT), rows, g.cout);
    const w3 = { dataId: filter.dataId, shape: [1, k, g.cout], dtype: 'float32' };
    const colsT = batchMatMul({ inputs: { a: w3, b: dyT }, backend, attrs: { transposeA: false, transposeB: false } });
    backend.disposeData(dyT.dataId);
    if (isPointwise(g)) {
      const dx = alloc(backend, [g.n, g.h, g.w, g.cin]);
      transpose2d(view(backend, colsT), view(backend, dx), k, rows);
      backend.disposeData(colsT.dataId);
      return dx;
    }
    const cols = alloc(backend, [rows, k]);
    transpose2d(view(backend, colsT), view(backend, cols), k, rows);
    backend.disposeData(colsT.dataId);
    const dx = col2im(backend, cols, g, k);
    backend.disposeData(cols.dataId);
    return dx;
  }

  /** dx [n,h,w,cin] = sum of each row's patch of `cols [rows, k]` scattered back to its pixels. */
  function col2im(backend: WasmBackendLike, cols: TensorInfo, g: ConvGeometry, k: number): TensorInfo {
    const dx = alloc(backend, [g.n, g.h, g.w, g.cin]);
    const src = view(backend, cols);
    const dst = view(backend, dx);
    dst.fill(0);
    const cin = g.cin;
    for (let b = 0; b < g.n; b++) {
      for (let i = 0; i < g.oh; i++) {
        for (let j = 0; j < g.ow; j++) {
          let so = ((b * g.oh + i) * g.ow + j) * k;
          for (let p = 0; p < g.kh; p++) {
            const r = i * g.sh + p - g.padTop;
            if (r < 0 || r >= g.h) {
              so += g.kw * cin;
              continue;
            }
            for (let q = 0; q < g.kw; q++) {
              const c = j * g.sw + q - g.padLeft;
              if (c >= 0 && c < g.w) {
                const dO = ((b * g.h + r) * g.w + c) * cin;
                for (let t = 0; t < cin; t++) dst[dO + t] = dst[dO + t]! + src[so + t]!;
              }
              so += cin;
            }
          }
        }
      }
    }
    return dx;
  }

  /** Every [C] row of `dst` (row-major [.., C]) set to `row`, by doubling block copies. */
  function fillRows(dst: Float32Array, row: Float32Array): void {
    const c = row.length;
    if (dst.length === 0) return;
    dst.set(row, 0);
    let done = c;
    while (done < dst.length) {
      const n = Math.min(done, dst.length - done);
      dst.copyWithin(done, 0, n);
      done += n;
    }
  }

  /**
   * The input gradient on the SIMD GEMM, or null when the shape is not covered:
   * stride 1 (any filter; dy taps through W^T with the padding mirrored) and
   * 1x1 filters with any stride and no padding (results land one stride apart).
   */
  function backpropInputGemm(kg: GemmKernels, backend: WasmBackendLike, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo | null {
    const unit = g.sh === 1 && g.sw === 1;
    const pointStrided = g.kh === 1 && g.kw === 1 && g.padTop === 0 && g.padLeft === 0 && g.sh === g.sw;
    if (!(unit || pointStrided) || g.cin % 8 !== 0 || g.cout < 8) return null;
    const temps: TensorInfo[] = [];
    try {
      const taps = g.kh * g.kw;
      const dx = alloc(backend, [g.n, g.h, g.w, g.cin]);
      const packed = alloc(backend, [taps * packedSize(g.cout, g.cin)]);
      temps.push(packed);
      const h = view(backend, dx);
      h.fill(0);
      const heapAll = new Float32Array(h.buffer);
      const base = at(backend, packed);
      packTransposedTaps(heapAll, at(backend, filter), taps, g.cin, g.cout, base);
      const tapList: Tap[] = [];
      for (let p = 0; p < g.kh; p++) {
        for (let q = 0; q < g.kw; q++) tapList.push({ dr: g.padTop - p, dc: g.padLeft - q, packed: base + (p * g.kw + q) * packedSize(g.cout, g.cin) });
      }
      const common = { n: g.n, inH: g.oh, inW: g.ow, kc: g.cout, s: 1, outH: g.h, outW: g.w, cols: g.cin, x: at(backend, dy), out: h.byteOffset / 4, taps: tapList };
      if (unit) convTaps(kg, { ...common, mI: g.h, mJ: g.w, os: 1 });
      else convTaps(kg, { ...common, mI: g.oh, mJ: g.ow, os: g.sh });
      return dx;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  }

  const backpropInput: KernelFn = ({ inputs, backend, attrs }) => {
    const dy = inputs['dy']!;
    const filter = inputs['filter']!;
    const inputShape = attrs['inputShape'] as number[];
    const g = geometry(tf, inputShape, filter.shape, attrs);
    const rows = g.n * g.oh * g.ow;
    const k = g.kh * g.kw * g.cin;
    const kg = gemmFor(backend);
    if (kg !== null) {
      const dx = backpropInputGemm(kg, backend, dy, filter, g);
      if (dx !== null) return dx;
    }
    if (rows < k) return backpropInputSmallRows(backend, dy, filter, g, rows, k);
    const wT = flippedFilter(backend, filter, g);
    try {
      if (g.kh === 1 && g.kw === 1 && g.padTop === 0 && g.padLeft === 0) {
        // 1x1: dx at the sampled pixels is dy @ W^T; the other pixels get zero.
        const part = conv2d({ inputs: { x: dy, filter: wT }, backend, attrs: { strides: 1, pad: 'valid', dilations: 1, dataFormat: 'NHWC' } });
        if (g.sh === 1 && g.sw === 1 && g.oh === g.h && g.ow === g.w) return part;
        const dx = alloc(backend, [g.n, g.h, g.w, g.cin]);
        const src = view(backend, part);
        const dst = view(backend, dx);
        dst.fill(0);
        for (let b = 0; b < g.n; b++) {
          for (let i = 0; i < g.oh; i++) {
            for (let j = 0; j < g.ow; j++) {
              const so = ((b * g.oh + i) * g.ow + j) * g.cin;
              const dO = ((b * g.h + i * g.sh) * g.w + j * g.sw) * g.cin;
              dst.set(src.subarray(so, so + g.cin), dO);
            }
          }
        }
        backend.disposeData(part.dataId);
        return dx;
      }
      if (g.sh > 1 || g.sw > 1) {
        // Strided: col2im. cols [rows, k] = dy [rows, cout] x W^T [cout, k] costs
        // the forward FLOPs (a dilated-dy convolution would cost stride^2 times
        // more, mostly multiplying zeros); then scatter-add each patch into dx.
        let cols: TensorInfo;
        if (kg !== null) {
          // On the SIMD GEMM: A = dy in place, B = W^T gathered while packing.
          cols = alloc(backend, [rows, k]);
          const temps: TensorInfo[] = [];
          const io = heapAccess(backend, temps);
          gemm(kg, { m: rows, n: k, k: g.cout, a: at(backend, dy), sai: g.cout, sak: 1, packB: packStrided(at(backend, filter), 1, g.cout, k), c: at(backend, cols), ldc: k, accumulate: false }, io.scratch, io.heap);
          for (const t of temps) backend.disposeData(t.dataId);
        } else {
          const wK = alloc(backend, [1, g.cout, k]);
          transpose2d(view(backend, filter), view(backend, wK), k, g.cout);
          const dy3 = { dataId: dy.dataId, shape: [1, rows, g.cout], dtype: 'float32' };
          cols = batchMatMul({ inputs: { a: dy3, b: wK }, backend, attrs: { transposeA: false, transposeB: false } });
          backend.disposeData(wK.dataId);
        }
        const dx = col2im(backend, cols, g, k);
        backend.disposeData(cols.dataId);
        return dx;
      }
      // General case: stride-1 'valid' convolution over dy placed on a zero grid
      // with stride spacing and a (K-1-pad) border: dx[h] = sum_j dyP[h+j] * Wflip[j].
      const hp = g.h + g.kh - 1;
      const wp = g.w + g.kw - 1;
      const offT = g.kh - 1 - g.padTop;
      const offL = g.kw - 1 - g.padLeft;
      if (g.sh === 1 && g.sw === 1) {
        // No copy needed: explicit padding on the forward convolution.
        const padB = hp - offT - g.oh;
        const padR = wp - offL - g.ow;
        if (padB >= 0 && padR >= 0) {
          return conv2d({
            inputs: { x: dy, filter: wT },
            backend,
            attrs: { strides: 1, pad: [[0, 0], [offT, padB], [offL, padR], [0, 0]], dilations: 1, dataFormat: 'NHWC' },
          });
        }
      }
      const dyP = alloc(backend, [g.n, hp, wp, g.cout]);
      const src = view(backend, dy);
      const dst = view(backend, dyP);
      dst.fill(0);
      for (let b = 0; b < g.n; b++) {
        for (let i = 0; i < g.oh; i++) {
          const r = offT + i * g.sh;
          if (r < 0 || r >= hp) continue;
          for (let j = 0; j < g.ow; j++) {
            const c = offL + j * g.sw;
            if (c < 0 || c >= wp) continue;
            const so = ((b * g.oh + i) * g.ow + j) * g.cout;
            dst.set(src.subarray(so, so + g.cout), ((b * hp + r) * wp + c) * g.cout);
          }
        }
      }
      const dx = conv2d({ inputs: { x: dyP, filter: wT }, backend, attrs: { strides: 1, pad: 'valid', dilations: 1, dataFormat: 'NHWC' } });
      backend.disposeData(dyP.dataId);
      return dx;
    } finally {
      backend.disposeData(wT.dataId);
    }
  };

  const backpropFilter: KernelFn = ({ inputs, backend, attrs }) => {
    const x = inputs['x']!;
    const dy = inputs['dy']!;
    const filterShape = attrs['filterShape'] as number[];
    const g = geometry(tf, x.shape, filterShape, attrs);
    const rows = g.n * g.oh * g.ow;
    const k = g.kh * g.kw * g.cin;
    const temps: TensorInfo[] = [];
    try {
      const kg = gemmFor(backend);
      if (kg !== null && g.cout >= 8) {
        // dW^T [cout, k] = dy^T x col on the SIMD GEMM (A read in place, col packed
        // straight from x), then one transpose of the (small) filter-sized result.
        // Few channels (the RGB stem): a materialised patch matrix beats per-element packing.
        const direct = isPointwise(g) || rows < g.cout || g.cin % 8 !== 0;
        if (direct) {
          // dW [k, cout] = col^T x dy with A = col^T read in place (x itself for a
          // pointwise conv; else a patch matrix, smaller than dW here) and B = dy.
          let col: TensorInfo = x;
          if (!isPointwise(g)) {
            col = im2col(backend, x, g, rows, k);
            temps.push(col);
          }
          const out = alloc(backend, [g.kh, g.kw, g.cin, g.cout]);
          const io = heapAccess(backend, temps);
          const dyAt = at(backend, dy);
          gemm(kg, { m: k, n: g.cout, k: rows, a: at(backend, col), sai: 1, sak: k, packB: packRowMajor(kg, dyAt, g.cout, g.cout), c: at(backend, out), ldc: g.cout, accumulate: false }, io.scratch, io.heap);
          return out;
        }
        const out = alloc(backend, [g.kh, g.kw, g.cin, g.cout]);
        const outT = alloc(backend, [g.cout, k]);
        temps.push(outT);
        filterGradT(kg, heapAccess(backend, temps), g, at(backend, x), at(backend, dy), at(backend, outT), isPointwise(g));
        transpose2d(view(backend, outT), view(backend, out), g.cout, k);
        return out;
      }
      // dW [k, cout] = col^T dy: one non-transposed matmul A x B contracting over
      // rows. XNNPACK re-packs B on every call (it is a fresh tensor) and packing
      // cost grows steeply with B's column count, so B is whichever of col / dy
      // has fewer columns and A is the other one, transposed here in JS.
      if (g.cout <= k) {
        const colT = im2colT(backend, x, g, rows, k);
        temps.push(colT);
        const dy3 = { dataId: dy.dataId, shape: [1, rows, g.cout], dtype: 'float32' };
        const out = batchMatMul({ inputs: { a: colT, b: dy3 }, backend, attrs: { transposeA: false, transposeB: false } });
        out.shape = [g.kh, g.kw, g.cin, g.cout];
        return out;
      }
      let col: TensorInfo;
      if (isPointwise(g)) {
        col = x;
      } else {
        col = im2col(backend, x, g, rows, k);
        temps.push(col);
      }
      const dyT = alloc(backend, [1, g.cout, rows]);
      temps.push(dyT);
      transpose2d(view(backend, dy), view(backend, dyT), rows, g.cout);
      const col3 = { dataId: col.dataId, shape: [1, rows, k], dtype: 'float32' };
      const outT = batchMatMul({ inputs: { a: dyT, b: col3 }, backend, attrs: { transposeA: false, transposeB: false } });
      temps.push(outT);
      const out = alloc(backend, [g.kh, g.kw, g.cin, g.cout]);
      transpose2d(view(backend, outT), view(backend, out), g.cout, k);
      return out;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };

  /**
   * Forward convolution. Each optimizer step gives every filter a fresh tensor, and
   * XNNPACK re-packs a filter the first time it sees it; in the deep stages (few output
   * pixels, large filters) that packing costs more than the convolution. With rows < k,
   * compute outT [cout, rows] = W^T [cout, k] x colT [k, rows] instead (only the small
   * patch matrix is packed).
   *
   * The choice depends on shapes and attributes only, never on whether this filter was
   * seen before: the two kernels round differently, so a history-dependent choice made a
   * run resumed in a fresh process (every filter unseen) diverge from an uninterrupted one
   * (issue 13). Inference with fixed weights gives up XNNPACK's cached packing here.
   */
  const fusedConv2D: KernelFn = (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs['x']!;
    const filter = inputs['filter']!;
    const bias = inputs['bias'];
    const activation = (attrs['activation'] as string | undefined) ?? 'linear';
    const dil = attrs['dilations'];
    const plain = (activation === 'linear' || activation === 'relu') && inputs['preluActivationWeights'] === undefined && (dil === undefined || dil === 1 || (Array.isArray(dil) && dil.every((d) => d === 1)));
    if (!plain || x.dtype !== 'float32') return builtinFusedConv2D(args);
    const g = geometry(tf, x.shape, filter.shape, attrs);
    const rows = g.n * g.oh * g.ow;
    const k = g.kh * g.kw * g.cin;
    const kg = gemmFor(backend);
    if (kg !== null && g.sh === g.sw && g.cin >= 8 && g.cout % 8 === 0) {
      const temps: TensorInfo[] = [];
      try {
        const taps = g.kh * g.kw;
        const out = alloc(backend, [g.n, g.oh, g.ow, g.cout]);
        const packed = alloc(backend, [taps * packedSize(g.cin, g.cout)]);
        temps.push(packed);
        const h = view(backend, out);
        const outAt = h.byteOffset / 4;
        const heapAll = new Float32Array(h.buffer);
        if (bias !== undefined) {
          const bv = view(backend, bias);
          if (bv.length !== g.cout) throw new Error(`FusedConv2D bias of ${bv.length} values for ${g.cout} channels`);
          fillRows(h, bv);
        } else {
          h.fill(0);
        }
        packFilterTaps(kg, heapAll, at(backend, filter), taps, g.cin, g.cout, at(backend, packed));
        const tapList: Tap[] = [];
        for (let p = 0; p < g.kh; p++) {
          for (let q = 0; q < g.kw; q++) tapList.push({ dr: p - g.padTop, dc: q - g.padLeft, packed: at(backend, packed) + (p * g.kw + q) * packedSize(g.cin, g.cout) });
        }
        convTaps(kg, { n: g.n, inH: g.h, inW: g.w, kc: g.cin, s: g.sh, mI: g.oh, mJ: g.ow, outH: g.oh, outW: g.ow, os: 1, cols: g.cout, x: at(backend, x), out: outAt, taps: tapList });
        if (activation === 'relu') {
          for (let i = 0; i < h.length; i++) if (!(h[i]! > 0)) h[i] = 0;
        }
        return out;
      } finally {
        for (const t of temps) backend.disposeData(t.dataId);
      }
    }
    if (rows >= k) return builtinFusedConv2D(args);
    const temps: TensorInfo[] = [];
    try {
      const colT = im2colT(backend, x, g, rows, k);
      temps.push(colT);
      const wT = alloc(backend, [1, g.cout, k]);
      temps.push(wT);
      transpose2d(view(backend, filter), view(backend, wT), k, g.cout);
      const outT = batchMatMul({ inputs: { a: wT, b: colT }, backend, attrs: { transposeA: false, transposeB: false } });
      temps.push(outT);
      const out = alloc(backend, [g.n, g.oh, g.ow, g.cout]);
      const dst = view(backend, out);
      transpose2d(view(backend, outT), dst, g.cout, rows);
      if (bias !== undefined) {
        const bv = view(backend, bias);
        if (bv.length !== g.cout) throw new Error(`FusedConv2D bias of ${bv.length} values for ${g.cout} channels`);
        for (let r = 0; r < rows; r++) {
          const o = r * g.cout;
          for (let c = 0; c < g.cout; c++) dst[o + c] = dst[o + c]! + bv[c]!;
        }
      }
      if (activation === 'relu') {
        for (let i = 0; i < dst.length; i++) if (!(dst[i]! > 0)) dst[i] = 0;
      }
      return out;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };

  return { backpropInput, backpropFilter, fusedConv2D };
}
