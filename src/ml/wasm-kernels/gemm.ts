/**
 * A small WebAssembly SIMD matrix multiply that works directly on the tfjs wasm
 * backend's heap, for the training-time convolutions.
 *
 * Why not the backend's own `BatchMatMul` (XNNPACK)? It treats B as "weights": it
 * re-packs B every time it meets a new tensor, from a transposed layout, and that
 * packing costs 10-40 ns per element once B has a few hundred columns, often more
 * than the multiply itself. In training every operand is fresh each step. Here B is
 * packed by a plain 2 x v128 copy per row (or a JS gather), and A is read in place
 * through arbitrary element strides, so transposed operands (x^T, dy^T, W^T) cost
 * nothing to form.
 *
 * The module (emitted byte by byte below, no toolchain) imports the backend's
 * `WebAssembly.Memory`, so all addresses are byte offsets into the tfjs heap
 * (`typedArrayFromHeap(t).byteOffset`). It exports
 * - `t<MR>(a, sai, sak, bp, c, ldc, kc, acc)` for MR = 1..{@link MR}: the MR x 8 tile
 *   C[i, j] (+)= sum_k A(i, k) * Bp[k, j], A(i, k) at a + i*sai + k*sak (bytes), Bp a
 *   packed panel (kc rows of 8 floats), C rows ldc bytes apart; acc=0 overwrites C;
 * - `p8(src, ld, dst, kc)`: packs 8 contiguous floats from each of kc rows ld bytes
 *   apart into one panel.
 * Products are summed in float32 in k order (like any GEMM); callers compare
 * against the cpu backend within 1e-4.
 */
import { localGet as get, localSet as set, name as str, section, simd, T_F32 as F32, T_I32 as I32, T_V128 as V128, uleb, vec } from '../../wasm/emit.ts';

/** Rows of the full tile (8 accumulators x 2 halves + 2 B vectors + 1 A splat fit 16 SIMD registers). */
export const MR = 4;
/** Columns per tile / packed panel. */
export const NR = 8;
/** Reduction block: one packed panel (KC x 8 floats = 16 KiB) stays in L1 across the row tiles; 512 rather than 256 measured ~10% faster filter gradients (fewer passes over C). */
export const KC = 512;
/** Row block: MC rows of A (sliced to KC) stay in L2 while the panels stream. */
export const MC = 64;

const op = {
  if: 0x04,
  block: 0x02,
  end: 0x0b,
  i32Eqz: 0x45,
  loop: 0x03,
  brIf: 0x0d,
  tee: 0x22,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
} as const;
const simdOp = {
  load: 0x00,
  splat32: 0x09,
  store: 0x0b,
  const: 0x0c,
  f32x4Splat: 0x13,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
} as const;
/** memarg: alignment exponent (a hint) and constant byte offset. */
const mem = (align: number, offset: number): number[] => [align, ...uleb(offset)];

/** Body of the MR x 8 tile function (parameters: a sai sak bp c ldc kc acc). */
function tileBody(mr: number): number[] {
  const [pA, pSai, pSak, pBp, pC, pLdc, pKc, pAcc] = [0, 1, 2, 3, 4, 5, 6, 7];
  let next = 8;
  const rowPtr = Array.from({ length: mr }, (_, r) => (r === 0 ? pA : next++));
  const nI32 = next - 8;
  const firstV = next;
  const acc = Array.from({ length: mr * 2 }, () => next++);
  const b0 = next++;
  const b1 = next++;
  const t = next++;
  const nV = next - firstV;
  const code: number[] = [];
  for (let r = 1; r < mr; r++) code.push(...get(pA), ...get(pSai), op.i32Const, r, op.i32Mul, op.i32Add, ...set(rowPtr[r]!));
  for (const a of acc) code.push(...simd(simdOp.const, ...new Array<number>(16).fill(0)), ...set(a));
  code.push(op.loop, 0x40);
  code.push(...get(pBp), ...simd(simdOp.load, 4, 0), ...set(b0));
  code.push(...get(pBp), ...simd(simdOp.load, 4, 16), ...set(b1));
  for (let r = 0; r < mr; r++) {
    code.push(...get(rowPtr[r]!), ...simd(simdOp.splat32, 2, 0), ...set(t));
    for (const [h, b] of [[0, b0], [1, b1]] as const) {
      const a = acc[r * 2 + h]!;
      code.push(...get(a), ...get(t), ...get(b), ...simd(simdOp.f32x4Mul), ...simd(simdOp.f32x4Add), ...set(a));
    }
    code.push(...get(rowPtr[r]!), ...get(pSak), op.i32Add, ...set(rowPtr[r]!));
  }
  code.push(...get(pBp), op.i32Const, 32, op.i32Add, ...set(pBp));
  code.push(...get(pKc), op.i32Const, 1, op.i32Sub, op.tee, ...uleb(pKc), op.brIf, 0, op.end);
  for (let r = 0; r < mr; r++) {
    // c is advanced by ldc after each row.
    for (const h of [0, 1]) {
      const a = acc[r * 2 + h]!;
      code.push(...get(pAcc), op.if, 0x40, ...get(a), ...get(pC), ...simd(simdOp.load, 4, h * 16), ...simd(simdOp.f32x4Add), ...set(a), op.end);
      code.push(...get(pC), ...get(a), ...simd(simdOp.store, 4, h * 16));
    }
    if (r + 1 < mr) code.push(...get(pC), ...get(pLdc), op.i32Add, ...set(pC));
  }
  code.push(op.end);
  return [...vec([[...uleb(nI32), I32], [...uleb(nV), V128]].filter((d) => d[0] !== 0)), ...code];
}

/** Body of p8(src, ld, dst, kc): kc rows of 8 floats, ld bytes apart, to consecutive 32-byte rows. */
function packBody(): number[] {
  const [pSrc, pLd, pDst, pKc] = [0, 1, 2, 3];
  const code: number[] = [op.loop, 0x40];
  code.push(...get(pDst), ...get(pSrc), ...simd(simdOp.load, 2, 0), ...simd(simdOp.store, 2, 0));
  code.push(...get(pDst), ...get(pSrc), ...simd(simdOp.load, 2, 16), ...simd(simdOp.store, 2, 16));
  code.push(...get(pSrc), ...get(pLd), op.i32Add, ...set(pSrc));
  code.push(...get(pDst), op.i32Const, 32, op.i32Add, ...set(pDst));
  code.push(...get(pKc), op.i32Const, 1, op.i32Sub, op.tee, ...uleb(pKc), op.brIf, 0, op.end, op.end);
  return [0, ...code];
}

/**
 * Body of adam(g, m, v, x, mo, vo, xo, n4, b1, ob1, b2, ob2, lrT, eps): the Keras Adam
 * update of n4 groups of 4 floats, each op in float32 in the order of the op-by-op
 * code in ../train/adam.ts (so the results are bit-identical to it):
 * m' = m*b1 + g*ob1; v' = v*b2 + (g*g)*ob2; x' = x - (m'*lrT) / (sqrt(v') + eps).
 */
function adamBody(): number[] {
  const [pG, pM, pV, pX, pMo, pVo, pXo, pN] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [fB1, fOb1, fB2, fOb2, fLr, fEps] = [8, 9, 10, 11, 12, 13];
  let next = 14;
  const [cB1, cOb1, cB2, cOb2, cLr, cEps, g, m, v] = Array.from({ length: 9 }, () => next++) as [number, number, number, number, number, number, number, number, number];
  const code: number[] = [];
  for (const [c, f] of [[cB1, fB1], [cOb1, fOb1], [cB2, fB2], [cOb2, fOb2], [cLr, fLr], [cEps, fEps]] as const) {
    code.push(...get(f), ...simd(simdOp.f32x4Splat), ...set(c));
  }
  code.push(op.block, 0x40, ...get(pN), op.i32Eqz, op.brIf, 0, op.loop, 0x40);
  code.push(...get(pG), ...simd(simdOp.load, 2, 0), ...set(g));
  // m' = m*b1 + g*ob1
  code.push(...get(pMo), ...get(pM), ...simd(simdOp.load, 2, 0), ...get(cB1), ...simd(simdOp.f32x4Mul));
  code.push(...get(g), ...get(cOb1), ...simd(simdOp.f32x4Mul), ...simd(simdOp.f32x4Add), op.tee, ...uleb(m), ...simd(simdOp.store, 2, 0));
  // v' = v*b2 + (g*g)*ob2
  code.push(...get(pVo), ...get(pV), ...simd(simdOp.load, 2, 0), ...get(cB2), ...simd(simdOp.f32x4Mul));
  code.push(...get(g), ...get(g), ...simd(simdOp.f32x4Mul), ...get(cOb2), ...simd(simdOp.f32x4Mul), ...simd(simdOp.f32x4Add), op.tee, ...uleb(v), ...simd(simdOp.store, 2, 0));
  // x' = x - (m'*lrT) / (sqrt(v') + eps)
  code.push(...get(pXo), ...get(pX), ...simd(simdOp.load, 2, 0));
  code.push(...get(m), ...get(cLr), ...simd(simdOp.f32x4Mul), ...get(v), ...simd(simdOp.f32x4Sqrt), ...get(cEps), ...simd(simdOp.f32x4Add), ...simd(simdOp.f32x4Div));
  code.push(...simd(simdOp.f32x4Sub), ...simd(simdOp.store, 2, 0));
  for (const ptr of [pG, pM, pV, pX, pMo, pVo, pXo]) code.push(...get(ptr), op.i32Const, 16, op.i32Add, ...set(ptr));
  code.push(...get(pN), op.i32Const, 1, op.i32Sub, op.tee, ...uleb(pN), op.brIf, 0, op.end, op.end, op.end);
  return [...vec([[9, V128]]), ...code];
}

/**
 * Body of bnSums(dy, x, mean, s1, s2, rows, rowBytes): for `rows` rows of `rowBytes`
 * bytes (channels-last, a multiple of 16), s1[c] += dy[r, c] and
 * s2[c] += dy[r, c] * (x[r, c] - mean[c]) in float32 lanes (the caller keeps row
 * blocks short and carries the totals in float64).
 */
function bnSumsBody(): number[] {
  const [pDy, pX, pMean, pS1, pS2, pRows, pRow] = [0, 1, 2, 3, 4, 5, 6];
  const off = 7;
  const [d, xc] = [8, 9];
  const at = (base: number): number[] => [...get(base), ...get(off), op.i32Add];
  const code: number[] = [op.loop, 0x40, op.i32Const, 0, ...set(off), op.loop, 0x40];
  code.push(...at(pDy), ...simd(simdOp.load, 2, 0), ...set(d));
  code.push(...at(pX), ...simd(simdOp.load, 2, 0), ...at(pMean), ...simd(simdOp.load, 2, 0), ...simd(simdOp.f32x4Sub), ...set(xc));
  code.push(...at(pS1), ...at(pS1), ...simd(simdOp.load, 2, 0), ...get(d), ...simd(simdOp.f32x4Add), ...simd(simdOp.store, 2, 0));
  code.push(...at(pS2), ...at(pS2), ...simd(simdOp.load, 2, 0), ...get(d), ...get(xc), ...simd(simdOp.f32x4Mul), ...simd(simdOp.f32x4Add), ...simd(simdOp.store, 2, 0));
  code.push(...get(off), op.i32Const, 16, op.i32Add, op.tee, ...uleb(off), ...get(pRow), op.i32LtU, op.brIf, 0, op.end);
  for (const ptr of [pDy, pX]) code.push(...get(ptr), ...get(pRow), op.i32Add, ...set(ptr));
  code.push(...get(pRows), op.i32Const, 1, op.i32Sub, op.tee, ...uleb(pRows), op.brIf, 0, op.end, op.end);
  return [...vec([[1, I32], [2, V128]]), ...code];
}

/** Body of colSums(src, s, rows, rowBytes): s[c] += src[r, c] over the rows (float32 lanes). */
function colSumsBody(): number[] {
  const [pSrc, pS, pRows, pRow] = [0, 1, 2, 3];
  const off = 4;
  const at = (base: number): number[] => [...get(base), ...get(off), op.i32Add];
  const code: number[] = [op.loop, 0x40, op.i32Const, 0, ...set(off), op.loop, 0x40];
  code.push(...at(pS), ...at(pS), ...simd(simdOp.load, 2, 0), ...at(pSrc), ...simd(simdOp.load, 2, 0), ...simd(simdOp.f32x4Add), ...simd(simdOp.store, 2, 0));
  code.push(...get(off), op.i32Const, 16, op.i32Add, op.tee, ...uleb(off), ...get(pRow), op.i32LtU, op.brIf, 0, op.end);
  code.push(...get(pSrc), ...get(pRow), op.i32Add, ...set(pSrc));
  code.push(...get(pRows), op.i32Const, 1, op.i32Sub, op.tee, ...uleb(pRows), op.brIf, 0, op.end, op.end);
  return [...vec([[1, I32]]), ...code];
}

/**
 * Body of bnApply(x, mean, scale, nf, offset, out, rows, rowBytes): per channel c,
 * out = offset + (x - mean) * scale / nf, float32 ops in the order of the formula in
 * tfjs-backend-wasm's FusedBatchNorm source (its compiled build differs from this by
 * float32 rounding only: <= 6e-8 absolute on unit-scale data).
 */
function bnApplyBody(): number[] {
  const [pX, pMean, pScale, pNf, pOff, pOut, pRows, pRow] = [0, 1, 2, 3, 4, 5, 6, 7];
  const off = 8;
  const at = (base: number): number[] => [...get(base), ...get(off), op.i32Add];
  const load = (base: number): number[] => [...at(base), ...simd(simdOp.load, 2, 0)];
  const code: number[] = [op.loop, 0x40, op.i32Const, 0, ...set(off), op.loop, 0x40];
  code.push(...at(pOut), ...load(pOff), ...load(pX), ...load(pMean), ...simd(simdOp.f32x4Sub), ...load(pScale), ...simd(simdOp.f32x4Mul));
  code.push(...load(pNf), ...simd(simdOp.f32x4Div), ...simd(simdOp.f32x4Add), ...simd(simdOp.store, 2, 0));
  code.push(...get(off), op.i32Const, 16, op.i32Add, op.tee, ...uleb(off), ...get(pRow), op.i32LtU, op.brIf, 0, op.end);
  for (const ptr of [pX, pOut]) code.push(...get(ptr), ...get(pRow), op.i32Add, ...set(ptr));
  code.push(...get(pRows), op.i32Const, 1, op.i32Sub, op.tee, ...uleb(pRows), op.brIf, 0, op.end, op.end);
  return [...vec([[1, I32]]), ...code];
}

/** Body of scaleCols(src, gain, dst, rows, rowBytes): dst[r, c] = src[r, c] * gain[c]. */
function scaleColsBody(): number[] {
  const [pSrc, pGain, pDst, pRows, pRow] = [0, 1, 2, 3, 4];
  const off = 5;
  const at = (base: number): number[] => [...get(base), ...get(off), op.i32Add];
  const code: number[] = [op.loop, 0x40, op.i32Const, 0, ...set(off), op.loop, 0x40];
  code.push(...at(pDst), ...at(pSrc), ...simd(simdOp.load, 2, 0), ...at(pGain), ...simd(simdOp.load, 2, 0), ...simd(simdOp.f32x4Mul), ...simd(simdOp.store, 2, 0));
  code.push(...get(off), op.i32Const, 16, op.i32Add, op.tee, ...uleb(off), ...get(pRow), op.i32LtU, op.brIf, 0, op.end);
  for (const ptr of [pSrc, pDst]) code.push(...get(ptr), ...get(pRow), op.i32Add, ...set(ptr));
  code.push(...get(pRows), op.i32Const, 1, op.i32Sub, op.tee, ...uleb(pRows), op.brIf, 0, op.end, op.end);
  return [...vec([[1, I32]]), ...code];
}

/** The module binary: imports memory `e.m`, exports t1..t{MR}, p8, adam, bnSums, scaleCols, colSums and bnApply. */
export function gemmModuleBytes(): Uint8Array<ArrayBuffer> {
  const tileType = [0x60, ...vec(new Array<number[]>(8).fill([I32])), 0x00];
  const packType = [0x60, ...vec(new Array<number[]>(4).fill([I32])), 0x00];
  const funcs: { name: string; type: number; body: number[] }[] = [];
  for (let mr = 1; mr <= MR; mr++) funcs.push({ name: `t${mr}`, type: 0, body: tileBody(mr) });
  funcs.push({ name: 'p8', type: 1, body: packBody() });
  const adamType = [0x60, ...vec([...new Array<number[]>(8).fill([I32]), ...new Array<number[]>(6).fill([F32])]), 0x00];
  funcs.push({ name: 'adam', type: 2, body: adamBody() });
  const bnType = [0x60, ...vec(new Array<number[]>(7).fill([I32])), 0x00];
  const scaleType = [0x60, ...vec(new Array<number[]>(5).fill([I32])), 0x00];
  funcs.push({ name: 'bnSums', type: 3, body: bnSumsBody() });
  funcs.push({ name: 'scaleCols', type: 4, body: scaleColsBody() });
  funcs.push({ name: 'colSums', type: 1, body: colSumsBody() });
  funcs.push({ name: 'bnApply', type: 0, body: bnApplyBody() });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([tileType, packType, adamType, bnType, scaleType])),
    ...section(2, vec([[...str('e'), ...str('m'), 0x02, 0x00, 1]])),
    ...section(3, vec(funcs.map((f) => [f.type]))),
    ...section(7, vec(funcs.map((f, i) => [...str(f.name), 0x00, i]))),
    ...section(10, vec(funcs.map((f) => [...uleb(f.body.length), ...f.body]))),
  ]);
}

type TileFn = (a: number, sai: number, sak: number, bp: number, c: number, ldc: number, kc: number, acc: number) => void;

/** The instantiated kernels, bound to one wasm memory. */
export interface GemmKernels {
  /** tiles[mr] computes an mr x 8 tile (index 0 unused). */
  readonly tiles: readonly TileFn[];
  readonly pack8: (src: number, ld: number, dst: number, kc: number) => void;
  /** Per-channel sums of dy and dy*(x-mean) over rows (see bnSumsBody; byte addresses). */
  readonly bnSums: (dy: number, x: number, mean: number, s1: number, s2: number, rows: number, rowBytes: number) => void;
  /** Batch-norm inference formula per channel (see bnApplyBody; byte addresses). */
  readonly bnApply: (x: number, mean: number, scale: number, nf: number, offset: number, out: number, rows: number, rowBytes: number) => void;
  /** s[c] += src[r, c] over `rows` rows of rowBytes bytes (byte addresses; float32 lanes). */
  readonly colSums: (src: number, s: number, rows: number, rowBytes: number) => void;
  /** dst = src * gain per channel (byte addresses). */
  readonly scaleCols: (src: number, gain: number, dst: number, rows: number, rowBytes: number) => void;
  /** Keras Adam over n4 groups of 4 floats (byte addresses; see adamBody). */
  readonly adam: (g: number, m: number, v: number, x: number, mo: number, vo: number, xo: number, n4: number, b1: number, ob1: number, b2: number, ob2: number, lrT: number, eps: number) => void;
}

const instances = new WeakMap<WebAssembly.Memory, GemmKernels | null>();

/** The kernels for `memory` (compiled once per process); null where wasm SIMD is unavailable. */
export function gemmKernels(memory: WebAssembly.Memory): GemmKernels | null {
  const hit = instances.get(memory);
  if (hit !== undefined) return hit;
  let made: GemmKernels | null = null;
  try {
    const bytes = gemmModuleBytes();
    if (WebAssembly.validate(bytes)) {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { m: memory } });
      const tiles: TileFn[] = [() => undefined];
      for (let mr = 1; mr <= MR; mr++) tiles.push(inst.exports[`t${mr}`] as TileFn);
      made = { tiles, pack8: inst.exports['p8'] as GemmKernels['pack8'], adam: inst.exports['adam'] as GemmKernels['adam'],
        bnSums: inst.exports['bnSums'] as GemmKernels['bnSums'],
        scaleCols: inst.exports['scaleCols'] as GemmKernels['scaleCols'],
        colSums: inst.exports['colSums'] as GemmKernels['colSums'],
        bnApply: inst.exports['bnApply'] as GemmKernels['bnApply'],
      };
    }
  } catch {
    made = null;
  }
  instances.set(memory, made);
  return made;
}

/**
 * Writes the packed panels of one reduction block: rows [k0, k0+kc) of B, panel p
 * (columns 8p..8p+7, zero past n) at dst + p*kc*8 floats. `heap` is the f32 view of the
 * whole memory; element offsets throughout.
 */
export type PackB = (heap: Float32Array, dst: number, k0: number, kc: number, panels: number) => void;

/** Packer for a row-major B (element (k, j) at b + k*ldb + j); vector copies where 8 columns exist. */
export function packRowMajor(kern: GemmKernels, b: number, ldb: number, n: number): PackB {
  return (heap, dst, k0, kc, panels) => {
    for (let p = 0; p < panels; p++) {
      const j0 = p * NR;
      const d = dst + p * kc * NR;
      if (j0 + NR <= n) {
        kern.pack8((b + k0 * ldb + j0) * 4, ldb * 4, d * 4, kc);
      } else {
        const w = n - j0;
        for (let k = 0; k < kc; k++) {
          const s = b + (k0 + k) * ldb + j0;
          const o = d + k * NR;
          for (let j = 0; j < NR; j++) heap[o + j] = j < w ? heap[s + j]! : 0;
        }
      }
    }
  };
}

/** Packer for a B read through strides (element (k, j) at b + k*sk + j*sn), e.g. a transposed W. */
export function packStrided(b: number, sk: number, sn: number, n: number): PackB {
  return (heap, dst, k0, kc, panels) => {
    for (let p = 0; p < panels; p++) {
      const j0 = p * NR;
      const w = Math.min(NR, n - j0);
      const d = dst + p * kc * NR;
      if (w === NR) {
        // Full panel: eight read streams, unrolled (the common case, e.g. W^T).
        for (let k = 0; k < kc; k++) {
          const s = b + (k0 + k) * sk + j0 * sn;
          const o = d + k * NR;
          heap[o] = heap[s]!;
          heap[o + 1] = heap[s + sn]!;
          heap[o + 2] = heap[s + 2 * sn]!;
          heap[o + 3] = heap[s + 3 * sn]!;
          heap[o + 4] = heap[s + 4 * sn]!;
          heap[o + 5] = heap[s + 5 * sn]!;
          heap[o + 6] = heap[s + 6 * sn]!;
          heap[o + 7] = heap[s + 7 * sn]!;
        }
        continue;
      }
      for (let k = 0; k < kc; k++) {
        const s = b + (k0 + k) * sk + j0 * sn;
        const o = d + k * NR;
        let j = 0;
        for (; j < w; j++) heap[o + j] = heap[s + j * sn]!;
        for (; j < NR; j++) heap[o + j] = 0;
      }
    }
  };
}

/** One C = A x B (or C += A x B) with A read through strides and B through a packer. */
export interface GemmSpec {
  m: number;
  n: number;
  k: number;
  /** Element offset of A(0, 0) and element strides of A(i, k). */
  a: number;
  sai: number;
  sak: number;
  packB: PackB;
  /** Element offset of C(0, 0) and its row stride (elements). */
  c: number;
  ldc: number;
  /** Add to C instead of overwriting it. */
  accumulate: boolean;
}

/**
 * Runs `spec`. `scratch(floats)` must return the element offset of a buffer of at
 * least that many floats in the same memory (the caller owns and frees it), and
 * `heap()` the current f32 view of the memory (it changes when the memory grows,
 * so it is asked for after `scratch`).
 */
export function gemm(kern: GemmKernels, spec: GemmSpec, scratch: (floats: number) => number, heap: () => Float32Array): void {
  const { m, n, k, a, sai, sak, c, ldc } = spec;
  if (m === 0 || n === 0) return;
  const panels = Math.ceil(n / NR);
  const kcMax = Math.min(KC, k);
  const full = Math.floor(n / NR);
  const ragged = full < panels;
  // Packed block, then (if n is not a multiple of 8) an MR x 8 tile for the last columns.
  const packed = scratch(kcMax * panels * NR + (ragged ? MR * NR : 0));
  const h = heap();
  const edge = packed + kcMax * panels * NR;
  if (k === 0) {
    if (!spec.accumulate) for (let i = 0; i < m; i++) h.fill(0, c + i * ldc, c + i * ldc + n);
    return;
  }
  const tiles = kern.tiles;
  const saiB = sai * 4;
  const sakB = sak * 4;
  const ldcB = ldc * 4;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = Math.min(KC, k - k0);
    spec.packB(h, packed, k0, kc, panels);
    const acc = spec.accumulate || k0 > 0 ? 1 : 0;
    for (let i0 = 0; i0 < m; i0 += MC) {
      const i1 = Math.min(m, i0 + MC);
      for (let p = 0; p < panels; p++) {
        const bp = (packed + p * kc * NR) * 4;
        const j0 = p * NR;
        for (let i = i0; i < i1; i += MR) {
          const mr = Math.min(MR, i1 - i);
          const aB = (a + i * sai + k0 * sak) * 4;
          if (p < full) {
            tiles[mr]!(aB, saiB, sakB, bp, (c + i * ldc + j0) * 4, ldcB, kc, acc);
          } else {
            // Last, partial panel: compute into the edge tile, copy the valid columns.
            const w = n - j0;
            if (acc === 1) for (let r = 0; r < mr; r++) for (let j = 0; j < w; j++) h[edge + r * NR + j] = h[c + (i + r) * ldc + j0 + j]!;
            tiles[mr]!(aB, saiB, sakB, bp, edge * 4, NR * 4, kc, acc);
            for (let r = 0; r < mr; r++) for (let j = 0; j < w; j++) h[c + (i + r) * ldc + j0 + j] = h[edge + r * NR + j]!;
          }
        }
      }
    }
  }
}
