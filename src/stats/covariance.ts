/**
 * `np.cov(acts1, acts2)` for the CCA: stack the neurons of both inputs as rows, centre each
 * row by its mean and form the (p x p) matrix of row dot products / (m - 1), in float64.
 * The rows live in one padded buffer (inside the WebAssembly kernel's memory when SIMD is
 * available) so the Gram product runs as one cache-blocked pass over the data.
 */
import { StatsError } from './errors.ts';
import type { Mat } from './mat.ts';
import { gramKernel, KERNEL_COLS, KERNEL_ROWS } from './wasm-gram.ts';

/**
 * A stack of `rows` x `cols` float64 values, row stride `stride` elements (rows padded to a
 * multiple of 4, columns to a multiple of 2; the padding is zero and never enters a mean).
 * The `rows` x `cols` cells are NOT cleared: the caller writes every one of them. With the
 * SIMD kernel `data` is a view into its memory and stays valid only until the next
 * `allocStack` call (everything here is synchronous, so one call = one buffer).
 */
export interface StackBuffer {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly stride: number;
  readonly rowsPad: number;
  /** Byte offset of `data` in the kernel memory, or -1 for a plain JavaScript buffer. */
  readonly byteOffset: number;
  /**
   * Rows already centred by `writeRows` (1) and their means: centring while the source row is
   * still in cache saves `centeredCovariance` a second pass over the whole stack.
   */
  readonly centered: Uint8Array;
  readonly means: Float64Array;
}

/** Columns per cache block of the Gram pass: 4 + 2 rows x 8 KiB stay in L1/L2. */
const K_BLOCK = 1024;

/** Allocates the stack for `rows` neurons by `cols` datapoints (padding zeroed, cells to be written). */
export function allocStack(rows: number, cols: number, opts: { forceJs?: boolean } = {}): StackBuffer {
  const rowsPad = Math.ceil(rows / KERNEL_ROWS) * KERNEL_ROWS;
  const stride = cols + (cols % 2);
  const n = rowsPad * stride;
  const kernel = opts.forceJs ? null : gramKernel();
  if (kernel) {
    const bytes = n * 8 + 64 * 8; // data + the kernel's output block
    if (bytes < 2 ** 31) {
      const have = kernel.memory.buffer.byteLength;
      if (have < bytes) kernel.memory.grow(Math.ceil((bytes - have) / 65536));
      const data = new Float64Array(kernel.memory.buffer, 0, n);
      // memory is reused between calls: clear only the padding (10 MB of cells get overwritten anyway)
      data.fill(0, rows * stride);
      if (stride !== cols) for (let i = 0; i < rows; i++) data[i * stride + cols] = 0;
      return { data, rows, cols, stride, rowsPad, byteOffset: 0, centered: new Uint8Array(rows), means: new Float64Array(rows) };
    }
  }
  return { data: new Float64Array(n), rows, cols, stride, rowsPad, byteOffset: -1, centered: new Uint8Array(rows), means: new Float64Array(rows) };
}

/**
 * Copies the rows of `m` into the stack starting at row `at`, converting float32 to float64,
 * centring each row on its mean (summed in column order, as the later pass would) and
 * rejecting NaN / infinity (STATS_NON_FINITE naming `what`, the row and the column).
 */
export function writeRows(buf: StackBuffer, at: number, m: Mat, what: string): void {
  const { data: src, rows, cols } = m;
  const dst = buf.data;
  for (let i = 0; i < rows; i++) {
    const s = i * cols;
    const d = (at + i) * buf.stride;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += src[s + j] as number;
    if (!Number.isFinite(sum)) {
      for (let j = 0; j < cols; j++) {
        const v = src[s + j] as number;
        if (!Number.isFinite(v)) throw new StatsError('STATS_NON_FINITE', `${what}: neuron (row) ${i}, datapoint (column) ${j} is ${v}`);
      }
      throw new StatsError('STATS_NON_FINITE', `${what}: neuron (row) ${i} overflows float64 when summed (values near 1e308)`);
    }
    const mu = sum / cols;
    for (let j = 0; j < cols; j++) dst[d + j] = (src[s + j] as number) - mu;
    buf.means[at + i] = mu;
    buf.centered[at + i] = 1;
  }
}

/**
 * Centres each of the `buf.rows` rows over its first `buf.cols` values and returns the
 * covariance matrix (rows x rows, row-major, normalised by 1/(cols - 1) as np.cov) and the
 * row means. Mutates the buffer (it holds the centred rows afterwards).
 */
export function centeredCovariance(buf: StackBuffer): { cov: Float64Array; means: Float64Array } {
  const { data, rows, cols, stride } = buf;
  const means = buf.means;
  for (let i = 0; i < rows; i++) {
    if (buf.centered[i] === 1) continue;
    const o = i * stride;
    let s = 0;
    for (let j = 0; j < cols; j++) s += data[o + j] as number;
    const mu = s / cols;
    means[i] = mu;
    for (let j = 0; j < cols; j++) data[o + j] = (data[o + j] as number) - mu;
  }
  const gram = buf.byteOffset >= 0 ? gramWasm(buf) : gramJs(buf);
  const p = buf.rowsPad;
  const cov = new Float64Array(rows * rows);
  const scale = 1 / (cols - 1);
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) {
      const v = (gram[i * p + j] as number) * scale;
      cov[i * rows + j] = v;
      cov[j * rows + i] = v;
    }
  }
  return { cov, means };
}

/** Upper triangle (and a bit more) of the padded Gram matrix using the SIMD kernel. */
function gramWasm(buf: StackBuffer): Float64Array {
  const kernel = gramKernel();
  if (!kernel) throw new Error('gramWasm called without a kernel');
  const { rowsPad: p, stride } = buf;
  const G = new Float64Array(p * p);
  const outOff = buf.byteOffset + p * stride * 8;
  const out = new Float64Array(kernel.memory.buffer, outOff, KERNEL_ROWS * KERNEL_COLS);
  const rowBytes = stride * 8;
  for (let k0 = 0; k0 < stride; k0 += K_BLOCK) {
    const len = Math.min(K_BLOCK, stride - k0);
    for (let i = 0; i < p; i += KERNEL_ROWS) {
      for (let j = i; j < p; j += KERNEL_COLS) {
        kernel.k(buf.byteOffset + i * rowBytes + k0 * 8, buf.byteOffset + j * rowBytes + k0 * 8, rowBytes, len * 8, outOff);
        for (let r = 0; r < KERNEL_ROWS; r++) {
          const g = (i + r) * p + j;
          G[g] = (G[g] as number) + (out[r * KERNEL_COLS] as number);
          G[g + 1] = (G[g + 1] as number) + (out[r * KERNEL_COLS + 1] as number);
        }
      }
    }
  }
  return G;
}

/** The same blocks in plain JavaScript (4 x 4 register blocking), for runtimes without SIMD. */
function gramJs(buf: StackBuffer): Float64Array {
  const { data: A, rowsPad: p, stride: m } = buf;
  const G = new Float64Array(p * p);
  for (let k0 = 0; k0 < m; k0 += K_BLOCK) {
    const k1 = Math.min(m, k0 + K_BLOCK);
    for (let i = 0; i < p; i += 4) {
      const a0 = i * m;
      const a1 = a0 + m;
      const a2 = a1 + m;
      const a3 = a2 + m;
      for (let j = i; j < p; j += 4) {
        const b0 = j * m;
        const b1 = b0 + m;
        const b2 = b1 + m;
        const b3 = b2 + m;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0; // prettier-ignore
        let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0; // prettier-ignore
        for (let k = k0; k < k1; k++) {
          const x0 = A[a0 + k] as number, x1 = A[a1 + k] as number, x2 = A[a2 + k] as number, x3 = A[a3 + k] as number; // prettier-ignore
          const y0 = A[b0 + k] as number, y1 = A[b1 + k] as number, y2 = A[b2 + k] as number, y3 = A[b3 + k] as number; // prettier-ignore
          s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3; // prettier-ignore
          s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3; // prettier-ignore
          s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3; // prettier-ignore
          s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3; // prettier-ignore
        }
        const acc = [s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33];
        for (let r = 0; r < 4; r++) {
          for (let c = 0; c < 4; c++) {
            const g = (i + r) * p + j + c;
            G[g] = (G[g] as number) + (acc[r * 4 + c] as number);
          }
        }
      }
    }
  }
  return G;
}
