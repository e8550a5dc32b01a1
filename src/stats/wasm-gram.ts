/**
 * A WebAssembly SIMD kernel for the one expensive step of CCA: the Gram matrix of the
 * centred activations (64 + 64 neurons x 10,000 datapoints = 82 M multiply-adds in float64).
 * Plain JavaScript reaches ~3 GFLOP/s on it; f64x2 SIMD roughly halves the time, which is
 * what brings `ccaSimilarity` to numpy + OpenBLAS speed.
 *
 * The module is emitted byte by byte below (no toolchain, nothing downloaded): one function
 * `k(pa, pb, stride, nbytes, out)` that writes the 4 x 2 block of dot products between rows
 * pa, pa+stride, ... (4 rows) and pb, pb+stride (2 rows), each `nbytes` long (a multiple of
 * 16), as 8 float64 at `out`. Each lane pair accumulates even/odd elements separately and
 * the two lanes are added at the end. 4 x 2 keeps 8 accumulators + 6 operands within the
 * 16 SIMD registers of x86-64 (4 x 4 spills and measured slower).
 */
import { localGet as get, localSet as set, name, section, simd, sleb, T_I32, T_V128, uleb, vec } from '../wasm/emit.ts';

/** Rows of the left operand per kernel call (the stack is padded to a multiple of it). */
export const KERNEL_ROWS = 4;
/** Rows of the right operand per kernel call. */
export const KERNEL_COLS = 2;

// Opcodes used (WebAssembly core + fixed-width SIMD proposal, both standard since 2021).
const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localTee: 0x22,
  f64Store: 0x39,
  i32Const: 0x41,
  i32LtS: 0x48,
  i32GeS: 0x4e,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  f64Add: 0xa0,
} as const;
const SIMD = { load: 0x00, const: 0x0c, f64x2ExtractLane: 0x21, f64x2Add: 0xf0, f64x2Mul: 0xf2 } as const;


/** The binary of the kernel module (exports `k` and `mem`). */
export function gramKernelBytes(): Uint8Array<ArrayBuffer> {
  const R = KERNEL_ROWS;
  const C = KERNEL_COLS;
  const [pA, pB, pStride, pN, pOut] = [0, 1, 2, 3, 4];
  let next = 5;
  const off = next++;
  const rowA = Array.from({ length: R }, () => next++);
  const rowB = Array.from({ length: C }, () => next++);
  const nI32 = next - 5;
  const firstV = next;
  const acc = Array.from({ length: R * C }, () => next++);
  const xs = Array.from({ length: R }, () => next++);
  const ys = Array.from({ length: C }, () => next++);
  const nV128 = next - firstV;

  const code: number[] = [];
  const rowPtr = (base: number, r: number, dst: number) =>
    code.push(...get(base), ...get(pStride), OP.i32Const, ...sleb(r), OP.i32Mul, OP.i32Add, ...set(dst));
  rowA.forEach((l, r) => rowPtr(pA, r, l));
  rowB.forEach((l, c) => rowPtr(pB, c, l));
  for (const a of acc) code.push(...simd(SIMD.const, ...new Array<number>(16).fill(0)), ...set(a));
  code.push(OP.i32Const, 0, ...set(off));
  code.push(OP.block, 0x40, ...get(off), ...get(pN), OP.i32GeS, OP.brIf, 0);
  code.push(OP.loop, 0x40);
  const load = (ptr: number, dst: number) => code.push(...get(ptr), ...get(off), OP.i32Add, ...simd(SIMD.load, 3, 0), ...set(dst));
  rowA.forEach((l, r) => load(l, xs[r] as number));
  rowB.forEach((l, c) => load(l, ys[c] as number));
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const a = acc[r * C + c] as number;
      code.push(...get(a), ...get(xs[r] as number), ...get(ys[c] as number), ...simd(SIMD.f64x2Mul), ...simd(SIMD.f64x2Add), ...set(a));
    }
  }
  code.push(...get(off), OP.i32Const, 16, OP.i32Add, OP.localTee, ...uleb(off), ...get(pN), OP.i32LtS, OP.brIf, 0);
  code.push(OP.end, OP.end);
  acc.forEach((a, k) => {
    code.push(...get(pOut), ...get(a), ...simd(SIMD.f64x2ExtractLane, 0), ...get(a), ...simd(SIMD.f64x2ExtractLane, 1));
    code.push(OP.f64Add, OP.f64Store, 3, ...uleb(k * 8));
  });
  code.push(OP.end);

  const body = [...vec([[...uleb(nI32), T_I32], [...uleb(nV128), T_V128]]), ...code];
  const i32s = Array.from({ length: 5 }, () => [T_I32]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(i32s), 0x00]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...name('k'), 0x00, 0], [...name('mem'), 0x02, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/** The instantiated kernel and its memory. */
export interface GramKernel {
  readonly memory: WebAssembly.Memory;
  readonly k: (pa: number, pb: number, stride: number, nbytes: number, out: number) => void;
}

let cached: GramKernel | null | undefined;

/**
 * The kernel, compiled once per process; null where WebAssembly SIMD is unavailable (callers
 * fall back to the JavaScript kernel, which gives the same numbers up to summation order).
 */
export function gramKernel(): GramKernel | null {
  if (cached !== undefined) return cached;
  try {
    const bytes = gramKernelBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) {
      cached = null;
    } else {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
      cached = {
        memory: inst.exports['mem'] as WebAssembly.Memory,
        k: inst.exports['k'] as GramKernel['k'],
      };
    }
  } catch {
    cached = null;
  }
  return cached;
}
