/**
 * A register-tiled GEMM skeleton in WGSL, C[rows, cols] = sum_r A(row, r) B(r, col),
 * whose operand loads are WGSL snippets: ./conv.ts builds the three convolution
 * kernels (forward, input gradient, filter gradient) on it with implicit im2col
 * (patches are gathered while loading tiles, never materialised).
 *
 * Tiling (after the plain WGSL GEMM that reached ~19-20 TFLOP/s fp32 on an H200):
 * 16x16 threads per workgroup, each accumulating a TM x TN block in registers, so a
 * workgroup computes a (16 TM) x (16 TN) tile of C; the reduction advances BK = 16 at
 * a time through workgroup memory (As k-major, Bs k-major). Thread (x, y) owns rows
 * y + 16 i and columns x + 16 j, so reads of Bs are contiguous across a warp and
 * reads of As are broadcasts. Tile loads are mapped so consecutive threads read
 * consecutive addresses of the operand's contiguous axis (channels in NHWC).
 * The reduction can be split over workgroups along z (split-K) for GEMMs with few
 * output tiles and a long reduction (the filter gradient); each split writes a
 * partial product and {@link splitReduceShader} adds them.
 */
import { bindingsWgsl } from './program.ts';

/** Reduction step held in workgroup memory. */
export const BK = 16;

/** Tile shape: per-thread block TM x TN (workgroup tile 16 TM x 16 TN). */
export interface Tile {
  tm: 2 | 4 | 8;
  tn: 1 | 2 | 4;
}

/** Picks a tile for a GEMM of `rows` x `cols`: big tiles for big GEMMs, narrow ones for few columns. */
export function pickTile(rows: number, cols: number): Tile {
  const tn = cols > 32 ? 4 : cols > 16 ? 2 : 1;
  const tm = rows >= 4096 ? 8 : rows > 64 ? 4 : 2;
  return { tm, tn };
}

/** The WGSL pieces of one GEMM kernel. */
export interface GemmParts {
  inputs: string[];
  outputs: string[];
  /** Uniform fields besides rows, cols, red, kPer (split length) which every kernel has. */
  uniforms: string[];
  tile: Tile;
  /** Module-scope declarations (workgroup arrays shared by the loaders). */
  decls?: string;
  /** Code once per thread before the reduction loop (may use row0, col0, tid, kBegin, kEnd). */
  prologue: string;
  /** Code per reduction tile k0 filling As[kk * BM + mm] and Bs[kk * BN + nn], zero outside rows/cols/[kBegin, kEnd). */
  loadTiles: string;
  /** Code storing `v` at row `m`, column `n` (both in range), `z` being the split index. */
  store: string;
  /** Code per reduction step `k` after a[] and b[] are loaded (may accumulate extra sums). */
  accumulate?: string;
  /** Code after all stores. */
  epilogue?: string;
}

/** The full WGSL of a GEMM kernel. */
export function gemmShader(p: GemmParts): string {
  const { tm, tn } = p.tile;
  const BM = 16 * tm;
  const BN = 16 * tn;
  return `
${bindingsWgsl(p.inputs, p.outputs, ['rows', 'cols', 'red', 'kPer', ...p.uniforms])}
const BM = ${BM}u;
const BN = ${BN}u;
const BK = ${BK}u;
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
${p.decls ?? ''}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * BM;
  let col0 = wg.x * BN;
  let tid = lid.y * 16u + lid.x;
  let z = wg.z;
  let kBegin = z * u.kPer;
  let kEnd = min(u.red, kBegin + u.kPer);
  ${p.prologue}
  var acc: array<f32, ${tm * tn}>;
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    ${p.loadTiles}
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var a: array<f32, ${tm}>;
      var b: array<f32, ${tn}>;
      for (var i = 0u; i < ${tm}u; i++) { a[i] = As[k * BM + lid.y + i * 16u]; }
      for (var j = 0u; j < ${tn}u; j++) { b[j] = Bs[k * BN + lid.x + j * 16u]; }
      ${p.accumulate ?? ''}
      for (var i = 0u; i < ${tm}u; i++) {
        for (var j = 0u; j < ${tn}u; j++) { acc[i * ${tn}u + j] = fma(a[i], b[j], acc[i * ${tn}u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${tm}u; i++) {
    let m = row0 + lid.y + i * 16u;
    if (m >= u.rows) { continue; }
    for (var j = 0u; j < ${tn}u; j++) {
      let n = col0 + lid.x + j * 16u;
      if (n < u.cols) {
        let v = acc[i * ${tn}u + j];
        ${p.store}
      }
    }
  }
  ${p.epilogue ?? ''}
}`;
}

/**
 * Load slots of a tile operand: with `BM` (or `BN`) x BK elements over 256 threads,
 * thread `tid` loads slot s = 0..count-1 at (fixed, varying + s * step) where the
 * fixed coordinate is on the operand's contiguous axis.
 */
export function slots(extent: number): { count: number; step: number } {
  return { count: (extent * BK) / 256, step: 256 / BK };
}

/**
 * WGSL adding `splits` partial products: out[i] = sum_z part[z * size + i] for
 * i < size, and likewise outB from partB (`sizeB` floats per split) after them.
 */
export function splitReduceShader(): string {
  return `
${bindingsWgsl(['part', 'partB'], ['out', 'outB'], ['size', 'sizeB', 'splits', 'gx'])}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = (wg.y * u.gx + wg.x) * 256u + lid.x;
  var s = 0.0;
  if (i < u.size) {
    for (var z = 0u; z < u.splits; z++) { s += part[z * u.size + i]; }
    out[i] = s;
  } else if (i < u.size + u.sizeB) {
    let j = i - u.size;
    for (var z = 0u; z < u.splits; z++) { s += partB[z * u.sizeB + j]; }
    outB[j] = s;
  }
}`;
}
