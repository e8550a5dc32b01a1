/**
 * NHWC convolutions on WebGPU as implicit GEMMs on ./gemm.ts's tiled skeleton,
 * registered on tfjs' webgpu backend for Conv2D, FusedConv2D (bias and ReLU fused
 * into the GEMM's store), Conv2DBackpropInput and Conv2DBackpropFilter.
 *
 * With x [N, H, W, Cin], filter [KH, KW, Cin, Cout], dy [N, OH, OW, Cout]:
 * - forward: y[(n,oh,ow), co] = sum over (kh,kw,ci) of x[n, oh*s-pt+kh, ow*s-pl+kw, ci]
 *   * w[(kh,kw,ci), co]; rows are output pixels, the reduction runs over the filter,
 *   whose [KH*KW*Cin, Cout] layout is already the GEMM's B. Each thread decodes its
 *   tile rows' pixel coordinates once and one (kh, kw, ci) per reduction step.
 * - input gradient: dx[(n,h,w), ci] = sum over (kh,kw,co) of dy[n, (h+pt-kh)/s,
 *   (w+pl-kw)/s, co] * w[kh,kw,ci,co], taking only taps where the division is exact
 *   (for stride 2 three quarters of the gathered values are zeros: computed, not skipped).
 * - filter gradient: dw[(kh,kw,ci), co] = sum over output pixels of x-patch * dy: a
 *   GEMM with few output tiles and a reduction over N*OH*OW, so it is split over
 *   workgroups (z) and the partial products added by a second dispatch when split.
 *
 * Patches are gathered while loading tiles (no im2col matrix in memory). Anything
 * else (dilations, NCHW, other activations, PReLU weights, non-float32) goes to the
 * backend's own kernel, captured before ours replace it.
 */
import type { Tf } from '../backend.ts';
import { BK, gemmShader, pickTile, slots, splitReduceShader, type Tile } from './gemm.ts';
import { dispatch, getPipeline, makeOutput, spreadGroups, type TensorInfo, type WebGpuBackendLike } from './program.ts';

/** Geometry of one convolution (tfjs' conv info, reduced to what the kernels use). */
interface Geometry {
  N: number;
  H: number;
  W: number;
  Cin: number;
  OH: number;
  OW: number;
  Cout: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  padT: number;
  padL: number;
}

const GEOMETRY_UNIFORMS = ['N', 'H', 'W', 'Cin', 'OH', 'OW', 'Cout', 'KH', 'KW', 'sh', 'sw', 'padT', 'padL'] as const;

function geometryUniforms(g: Geometry): number[] {
  return GEOMETRY_UNIFORMS.map((k) => g[k]);
}

/** tfjs' conv info for NHWC with dilation 1, or null when our kernels do not apply. */
function geometry(tf: Tf, xShape: number[], filterShape: number[], attrs: Record<string, unknown>): Geometry | null {
  const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
  const dil = attrs['dilations'] as number | [number, number] | undefined;
  const dilOne = dil === undefined || dil === 1 || (Array.isArray(dil) && dil[0] === 1 && dil[1] === 1);
  if (dataFormat !== 'NHWC' || !dilOne || xShape.length !== 4 || filterShape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs['strides'] as [number, number],
    1,
    attrs['pad'] as 'same',
    attrs['dimRoundingMode'] as 'floor' | undefined,
  );
  const g: Geometry = {
    N: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    Cin: info.inChannels,
    OH: info.outHeight,
    OW: info.outWidth,
    Cout: info.outChannels,
    KH: info.filterHeight,
    KW: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padT: info.padInfo.top,
    padL: info.padInfo.left,
  };
  return Object.values(g).every((v) => Number.isInteger(v) && v >= 0) ? g : null;
}

function tileKey(t: Tile): string {
  return `${t.tm}x${t.tn}`;
}

/** Forward GEMM loaders: A = patches of x (contiguous along the reduction), B = filter (contiguous along cols). */
function forwardShader(tile: Tile, bias: boolean, relu: boolean): string {
  const a = slots(16 * tile.tm);
  const b = slots(16 * tile.tn);
  const store = `var o = v${bias ? ' + bias[n]' : ''};${relu ? ' o = max(o, 0.0);' : ''} y[m * u.cols + n] = o;`;
  return gemmShader({
    inputs: ['x', 'w', ...(bias ? ['bias'] : [])],
    outputs: ['y'],
    uniforms: [...GEOMETRY_UNIFORMS],
    tile,
    prologue: `
  var aOk: array<u32, ${a.count}>;
  var aB: array<i32, ${a.count}>;
  var aH: array<i32, ${a.count}>;
  var aW: array<i32, ${a.count}>;
  for (var s = 0u; s < ${a.count}u; s++) {
    let m = row0 + tid / ${BK}u + s * ${a.step}u;
    aOk[s] = select(0u, 1u, m < u.rows);
    let mm = min(m, u.rows - 1u);
    let ow = mm % u.OW;
    let t = mm / u.OW;
    aB[s] = i32((t / u.OH) * u.H);
    aH[s] = i32((t % u.OH) * u.sh) - i32(u.padT);
    aW[s] = i32(ow * u.sw) - i32(u.padL);
  }`,
    loadTiles: `
    let kc = tid % ${BK}u;
    let k = k0 + kc;
    let kOk = k < kEnd;
    let ci = k % u.Cin;
    let kt = k / u.Cin;
    let kw = i32(kt % u.KW);
    let kh = i32(kt / u.KW);
    for (var s = 0u; s < ${a.count}u; s++) {
      let ih = aH[s] + kh;
      let iw = aW[s] + kw;
      var v = 0.0;
      if (kOk && aOk[s] == 1u && ih >= 0 && ih < i32(u.H) && iw >= 0 && iw < i32(u.W)) {
        v = x[(u32(aB[s] + ih) * u.W + u32(iw)) * u.Cin + ci];
      }
      As[kc * BM + tid / ${BK}u + s * ${a.step}u] = v;
    }
    let nn = tid % BN;
    let bn = col0 + nn;
    for (var s = 0u; s < ${b.count}u; s++) {
      let kk = tid / BN + s * (256u / BN);
      let kr = k0 + kk;
      var v = 0.0;
      if (kr < kEnd && bn < u.cols) { v = w[kr * u.cols + bn]; }
      Bs[kk * BN + nn] = v;
    }`,
    store,
  });
}

/** Input-gradient loaders: A = dy gathered per input pixel and tap, B = filter read as [(kh,kw,co), ci]. */
function inputGradShader(tile: Tile): string {
  const a = slots(16 * tile.tm);
  const b = slots(16 * tile.tn);
  return gemmShader({
    inputs: ['dy', 'w'],
    outputs: ['dx'],
    uniforms: [...GEOMETRY_UNIFORMS],
    tile,
    prologue: `
  var aOk: array<u32, ${a.count}>;
  var aB: array<u32, ${a.count}>;
  var aH: array<i32, ${a.count}>;
  var aW: array<i32, ${a.count}>;
  for (var s = 0u; s < ${a.count}u; s++) {
    let m = row0 + tid / ${BK}u + s * ${a.step}u;
    aOk[s] = select(0u, 1u, m < u.rows);
    let mm = min(m, u.rows - 1u);
    let t = mm / u.W;
    aB[s] = (t / u.H) * u.OH;
    aH[s] = i32(t % u.H + u.padT);
    aW[s] = i32(mm % u.W + u.padL);
  }`,
    loadTiles: `
    let kc = tid % ${BK}u;
    let k = k0 + kc;
    let kOk = k < kEnd;
    let co = k % u.Cout;
    let kt = k / u.Cout;
    let kw = kt % u.KW;
    let kh = kt / u.KW;
    for (var s = 0u; s < ${a.count}u; s++) {
      let ph = aH[s] - i32(kh);
      let pw = aW[s] - i32(kw);
      var v = 0.0;
      if (kOk && aOk[s] == 1u && ph >= 0 && pw >= 0) {
        let oh = u32(ph) / u.sh;
        let ow = u32(pw) / u.sw;
        if (oh * u.sh == u32(ph) && ow * u.sw == u32(pw) && oh < u.OH && ow < u.OW) {
          v = dy[((aB[s] + oh) * u.OW + ow) * u.Cout + co];
        }
      }
      As[kc * BM + tid / ${BK}u + s * ${a.step}u] = v;
    }
    for (var s = 0u; s < ${b.count}u; s++) {
      let nn = tid / ${BK}u + s * ${b.step}u;
      let ci = col0 + nn;
      var v = 0.0;
      if (kOk && ci < u.cols) { v = w[((kh * u.KW + kw) * u.Cin + ci) * u.Cout + co]; }
      Bs[kc * BN + nn] = v;
    }`,
    store: 'dx[m * u.cols + n] = v;',
  });
}

/** Filter-gradient loaders: A = x patches read as [(kh,kw,ci), pixel], B = dy [pixel, co]; split along pixels. */
function filterGradShader(tile: Tile): string {
  const BM = 16 * tile.tm;
  const a = { count: (BM * BK) / 256, step: 256 / BM };
  const b = slots(16 * tile.tn);
  return gemmShader({
    inputs: ['x', 'dy'],
    outputs: ['out', 'outB'],
    uniforms: [...GEOMETRY_UNIFORMS],
    tile,
    decls: `var<workgroup> pB: array<i32, ${BK}>;
var<workgroup> pH: array<i32, ${BK}>;
var<workgroup> pW: array<i32, ${BK}>;`,
    prologue: `
  let r = tid % BM;
  let kp = row0 + r;
  let rOk = kp < u.rows;
  let ci = kp % u.Cin;
  let kt = kp / u.Cin;
  let kw = i32(kt % u.KW);
  let kh = i32(kt / u.KW);
  let biasRow = wg.y == 0u && lid.y == 0u;
  var bacc: array<f32, ${tile.tn}>;`,
    accumulate: `if (biasRow) { for (var j = 0u; j < ${tile.tn}u; j++) { bacc[j] += b[j]; } }`,
    epilogue: `if (biasRow) {
    for (var j = 0u; j < ${tile.tn}u; j++) {
      let n = col0 + lid.x + j * 16u;
      if (n < u.cols) { outB[z * u.cols + n] = bacc[j]; }
    }
  }`,
    loadTiles: `
    if (tid < ${BK}u) {
      let m = k0 + tid;
      let ow = m % u.OW;
      let t = m / u.OW;
      pB[tid] = select(-1, i32((t / u.OH) * u.H), m < kEnd);
      pH[tid] = i32((t % u.OH) * u.sh) - i32(u.padT);
      pW[tid] = i32(ow * u.sw) - i32(u.padL);
    }
    workgroupBarrier();
    for (var s = 0u; s < ${a.count}u; s++) {
      let kk = tid / BM + s * ${a.step}u;
      let ih = pH[kk] + kh;
      let iw = pW[kk] + kw;
      var v = 0.0;
      if (rOk && pB[kk] >= 0 && ih >= 0 && ih < i32(u.H) && iw >= 0 && iw < i32(u.W)) {
        v = x[(u32(pB[kk] + ih) * u.W + u32(iw)) * u.Cin + ci];
      }
      As[kk * BM + r] = v;
    }
    let nn = tid % BN;
    let bn = col0 + nn;
    for (var s = 0u; s < ${b.count}u; s++) {
      let kk = tid / BN + s * (256u / BN);
      let m = k0 + kk;
      var v = 0.0;
      if (m < kEnd && bn < u.cols) { v = dy[m * u.cols + bn]; }
      Bs[kk * BN + nn] = v;
    }`,
    store: 'out[z * u.rows * u.cols + m * u.cols + n] = v;',
  });
}

/** Workgroups along x (cols) and y (rows) for a tile; y may exceed 65535 only for absurd sizes. */
function grid(rows: number, cols: number, t: Tile, splits = 1): [number, number, number] {
  return [Math.ceil(cols / (16 * t.tn)), Math.ceil(rows / (16 * t.tm)), splits];
}

/** y = conv(x, w) (+ bias) (ReLU), one dispatch. */
export function runConvForward(backend: WebGpuBackendLike, x: TensorInfo, w: TensorInfo, bias: TensorInfo | null, relu: boolean, g: Geometry): TensorInfo {
  const rows = g.N * g.OH * g.OW;
  const cols = g.Cout;
  const red = g.KH * g.KW * g.Cin;
  const tile = pickTile(rows, cols);
  const y = makeOutput(backend, [g.N, g.OH, g.OW, g.Cout]);
  const pipeline = getPipeline(backend.device, `conv_fwd_${tileKey(tile)}_${bias ? 'b' : ''}${relu ? 'r' : ''}`, bias ? 3 : 2, 1, () => forwardShader(tile, bias !== null, relu));
  dispatch(backend, {
    name: 'conv_fwd',
    pipeline,
    inputs: bias ? [x, w, bias] : [x, w],
    outputs: [y],
    uniforms: [rows, cols, red, red, ...geometryUniforms(g)],
    groups: grid(rows, cols, tile),
  });
  return y;
}

/** dx of a convolution, one dispatch. */
export function runConvInputGrad(backend: WebGpuBackendLike, dy: TensorInfo, w: TensorInfo, g: Geometry): TensorInfo {
  const rows = g.N * g.H * g.W;
  const cols = g.Cin;
  const red = g.KH * g.KW * g.Cout;
  const tile = pickTile(rows, cols);
  const dx = makeOutput(backend, [g.N, g.H, g.W, g.Cin]);
  const pipeline = getPipeline(backend.device, `conv_dx_${tileKey(tile)}`, 2, 1, () => inputGradShader(tile));
  dispatch(backend, {
    name: 'conv_dx',
    pipeline,
    inputs: [dy, w],
    outputs: [dx],
    uniforms: [rows, cols, red, red, ...geometryUniforms(g)],
    groups: grid(rows, cols, tile),
  });
  return dx;
}

/** Splits of the filter gradient's reduction: enough workgroups for a large GPU, at least 16 reduction tiles each. */
function splitCount(tiles: number, red: number): { splits: number; kPer: number } {
  const want = Math.max(1, Math.min(Math.ceil(512 / tiles), Math.floor(red / (16 * BK)), 64));
  const kPer = Math.ceil(red / want / BK) * BK;
  return { splits: Math.ceil(red / kPer), kPer };
}

/**
 * The column sums of the last filter gradient's dy (the conv bias gradient, computed
 * for free by the first row tile of the filter-gradient GEMM), handed to the next
 * `Sum` of that same dy over its leading axes (tfjs' fused-conv gradient asks for
 * it right after the filter gradient). At most one is pending; an unclaimed one is
 * released when the next filter gradient runs.
 */
let pendingBias: { dy: object; sums: TensorInfo; backend: WebGpuBackendLike } | null = null;

function setPendingBias(next: typeof pendingBias): void {
  if (pendingBias !== null) pendingBias.backend.disposeData(pendingBias.sums.dataId);
  pendingBias = next;
}

/** The pending column sums of `x` when `Sum(x, axes, keepDims)` reduces exactly its leading axes; ownership passes to the caller. */
export function claimColumnSums(x: TensorInfo, axes: number[], keepDims: boolean): TensorInfo | null {
  if (pendingBias === null || pendingBias.dy !== x.dataId) return null;
  const rank = x.shape.length;
  const sorted = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  if (sorted.length !== rank - 1 || sorted.some((a, i) => a !== i)) return null;
  const { sums } = pendingBias;
  pendingBias = null;
  const c = x.shape[rank - 1]!;
  return { dataId: sums.dataId, dtype: 'float32', shape: keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c] };
}

/**
 * dw of a convolution (and, on the side, dy's column sums for {@link claimColumnSums}):
 * one dispatch, plus one adding the split partial products when the reduction is split.
 */
export function runConvFilterGrad(backend: WebGpuBackendLike, x: TensorInfo, dy: TensorInfo, g: Geometry): TensorInfo {
  const rows = g.KH * g.KW * g.Cin;
  const cols = g.Cout;
  const red = g.N * g.OH * g.OW;
  const tile = pickTile(rows, cols);
  const [gx, gy] = grid(rows, cols, tile);
  const { splits, kPer } = splitCount(gx * gy, red);
  const shape = [g.KH, g.KW, g.Cin, g.Cout];
  const dw = makeOutput(backend, splits === 1 ? shape : [splits * rows * cols]);
  const sums = makeOutput(backend, [splits * cols]);
  const pipeline = getPipeline(backend.device, `conv_dw_${tileKey(tile)}`, 2, 2, () => filterGradShader(tile));
  dispatch(backend, {
    name: 'conv_dw',
    pipeline,
    inputs: [x, dy],
    outputs: [dw, sums],
    uniforms: [rows, cols, red, kPer, ...geometryUniforms(g)],
    groups: [gx, gy, splits],
  });
  if (splits === 1) {
    setPendingBias({ dy: dy.dataId, sums, backend });
    return dw;
  }
  const out = makeOutput(backend, shape);
  const outSums = makeOutput(backend, [cols]);
  const size = rows * cols;
  const groups = spreadGroups(Math.ceil((size + cols) / 256));
  dispatch(backend, {
    name: 'conv_dw_reduce',
    pipeline: getPipeline(backend.device, 'split_reduce', 2, 2, splitReduceShader),
    inputs: [dw, sums],
    outputs: [out, outSums],
    uniforms: [size, cols, splits, groups[0]],
    groups,
  });
  backend.disposeData(dw.dataId);
  backend.disposeData(sums.dataId);
  setPendingBias({ dy: dy.dataId, sums: outSums, backend });
  return out;
}

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: WebGpuBackendLike; attrs: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => TensorInfo;

const isF32 = (...ts: (TensorInfo | undefined)[]): boolean => ts.every((t) => t === undefined || t.dtype === 'float32');

/** Kernel names replaced on the webgpu backend by {@link registerConvKernels} (`Sum` only to hand over the bias gradient). */
export const CONV_KERNELS = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum'] as const;

/** Our kernels for {@link CONV_KERNELS}, each falling back on `builtin` outside its cases. */
export function makeConvKernels(tf: Tf, builtin: (name: string) => KernelFn): Record<(typeof CONV_KERNELS)[number], KernelFn> {
  return {
    Conv2D: (args) => {
      const { x, filter } = args.inputs;
      const g = x && filter && isF32(x, filter) ? geometry(tf, x.shape, filter.shape, args.attrs) : null;
      if (g === null) return builtin('Conv2D')(args);
      return runConvForward(args.backend, x!, filter!, null, false, g);
    },
    FusedConv2D: (args) => {
      const { x, filter, bias, preluActivationWeights } = args.inputs;
      const act = (args.attrs['activation'] as string | undefined) ?? 'linear';
      const biasOk = bias === undefined || (bias.shape.length === 1 && bias.shape[0] === filter?.shape[3]);
      const ok = x && filter && isF32(x, filter, bias) && biasOk && preluActivationWeights === undefined && (act === 'linear' || act === 'relu');
      const g = ok ? geometry(tf, x.shape, filter.shape, args.attrs) : null;
      if (g === null) return builtin('FusedConv2D')(args);
      return runConvForward(args.backend, x!, filter!, bias ?? null, act === 'relu', g);
    },
    Conv2DBackpropInput: (args) => {
      const { dy, filter } = args.inputs;
      const inShape = args.attrs['inputShape'] as number[];
      const g = dy && filter && isF32(dy, filter) ? geometry(tf, inShape, filter.shape, args.attrs) : null;
      if (g === null) return builtin('Conv2DBackpropInput')(args);
      return runConvInputGrad(args.backend, dy!, filter!, g);
    },
    Conv2DBackpropFilter: (args) => {
      const { x, dy } = args.inputs;
      const fShape = args.attrs['filterShape'] as number[];
      const g = x && dy && isF32(x, dy) ? geometry(tf, x.shape, fShape, args.attrs) : null;
      if (g === null) return builtin('Conv2DBackpropFilter')(args);
      return runConvFilterGrad(args.backend, x!, dy!, g);
    },
    Sum: (args) => {
      const x = args.inputs['x'];
      const raw = args.attrs['axis'] as number | number[] | null | undefined;
      const axes = raw === null || raw === undefined ? (x?.shape.map((_, i) => i) ?? []) : Array.isArray(raw) ? raw : [raw];
      const hit = x === undefined ? null : claimColumnSums(x, axes, args.attrs['keepDims'] === true);
      return hit ?? builtin('Sum')(args);
    },
  };
}

const registered = new WeakSet<object>();

/**
 * Replaces the webgpu backend's convolution kernels with ours (idempotent per tf
 * instance; must run after the webgpu backend is imported). Returns the names replaced.
 */
export function registerConvKernels(tf: Tf, off: ReadonlySet<string> = new Set()): readonly string[] {
  const names = CONV_KERNELS.filter((n) => !off.has(n));
  if (registered.has(tf)) return names;
  const originals = new Map<string, KernelFn>();
  for (const name of CONV_KERNELS) {
    const k = tf.getKernel(name, 'webgpu');
    if (k === undefined) throw new Error(`webgpu kernel ${name} is not registered (import @tensorflow/tfjs-backend-webgpu first)`);
    originals.set(name, k.kernelFunc as unknown as KernelFn);
  }
  const kernels = makeConvKernels(tf, (name) => originals.get(name)!);
  for (const name of names) {
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: kernels[name] as unknown as Parameters<Tf['registerKernel']>[0]['kernelFunc'] });
  }
  registered.add(tf);
  return names;
}

/** The convolution kernels as a family for ./register.ts (names in `off` keep tfjs' kernels). */
export const CONV_FAMILY = { name: 'conv', register: (tf: Tf, off: ReadonlySet<string>): readonly string[] => registerConvKernels(tf, off) };
