/**
 * The inverse DCT of a JPEG block evaluated at reduced resolution. Instead of the 8x8 pixels
 * of a block we want the means of its s x s cells (s = 1, 2, 4, 8), i.e. the full-size
 * decode box-filtered by s, which is exactly linear in the coefficients: each output value is
 * sum over coefficients F(r, c) * My[i][r] * Mx[j][c], where M averages the 1-D IDCT basis
 * over each group of s samples. Most coefficients of a real block are zero, so the decoder
 * adds each nonzero coefficient's (precomputed, dequantised) contribution to the n x n output
 * cells as it comes out of the entropy decoder: no 8x8 coefficient buffer, no full IDCT.
 */

/** Natural (row-major) position of each zig-zag index (T.81 figure A.6). */
export const ZIGZAG_TO_NATURAL = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29,
  22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/**
 * (8/s) x 8 matrix: row i is the mean over samples x = i*s .. i*s+s-1 of the 1-D IDCT basis
 * A[x][u] = C(u)/2 * cos((2x+1) u pi / 16), C(0) = 1/sqrt(2), C(u>0) = 1.
 */
export function boxedIdctBasis(s: number): Float64Array {
  if (![1, 2, 4, 8].includes(s)) throw new Error(`scale ${s} is not 1, 2, 4 or 8`);
  const n = 8 / s;
  const m = new Float64Array(n * 8);
  for (let i = 0; i < n; i++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let x = i * s; x < i * s + s; x++) sum += Math.cos(((2 * x + 1) * u * Math.PI) / 16);
      m[i * 8 + u] = ((u === 0 ? Math.SQRT1_2 : 1) / 2) * (sum / s);
    }
  }
  return m;
}

/**
 * How a block's output cells are laid out for the wasm side's 4-wide vectors: a 2x2 block is
 * packed (4 floats); any other shape keeps rows of `rowStride` floats (nx rounded up to 4), so
 * each row is whole vectors. `perK` floats per coefficient.
 */
export interface CellLayout {
  nx: number;
  ny: number;
  rowStride: number;
  perK: number;
}

/** The cell layout for nx x ny cells per block. */
export function cellLayout(nx: number, ny: number): CellLayout {
  const rowStride = nx * ny === 4 ? nx : Math.max(4, nx);
  return { nx, ny, rowStride, perK: rowStride * ny };
}

/**
 * Contribution table for one component, float32 in the given layout: for zig-zag index k,
 * entries [k*perK, (k+1)*perK) hold quant[k] * My[i][row(k)] * Mx[j][col(k)] for output cell
 * (i, j) at i*rowStride + j (padding 0), with nx = 8/sx and ny = 8/sy cells per block.
 * `quant` is in zig-zag order, as DQT stores it. float32 is plenty: a cell sums at most 64
 * terms below 2^16, so its error stays far below the 0.5 that rounding to a byte tolerates.
 */
export function contributionTable(quant: Uint16Array, sx: number, sy: number): { table: Float32Array; layout: CellLayout } {
  const mx = boxedIdctBasis(sx);
  const my = boxedIdctBasis(sy);
  const layout = cellLayout(8 / sx, 8 / sy);
  const t = new Float32Array(64 * layout.perK);
  for (let k = 0; k < 64; k++) {
    const nat = ZIGZAG_TO_NATURAL[k]!;
    const r = nat >> 3;
    const c = nat & 7;
    const q = quant[k]!;
    for (let i = 0; i < layout.ny; i++) {
      for (let j = 0; j < layout.nx; j++) t[k * layout.perK + i * layout.rowStride + j] = q * my[i * 8 + r]! * mx[j * 8 + c]!;
    }
  }
  return { table: t, layout };
}
