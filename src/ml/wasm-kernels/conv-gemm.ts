/**
 * Convolutions and their gradients as GEMMs on ./gemm.ts's WebAssembly SIMD tiles,
 * working in place on the tfjs wasm heap (element offsets into one f32 view).
 *
 * - {@link convTaps}: an implicit-im2col convolution. For every filter tap, every
 *   output row segment is a small GEMM whose A rows are input pixels read in place
 *   (one stride apart), whose B is that tap's [kc, cols] slice of the packed filter,
 *   accumulated into the output. No patch matrix is ever built. It serves the forward
 *   convolution (taps of W) and, for stride 1, the input gradient (taps of the
 *   flipped, transposed W over dy), and a strided 1x1 input gradient (outputs
 *   written one stride apart).
 * - {@link filterGradT}: dW^T [cout, k] = dy^T x col, A = dy^T read through strides,
 *   B = the patch matrix packed panel by panel straight from x.
 */
import { gemm, NR, packRowMajor, packStrided, type GemmKernels, type PackB } from './gemm.ts';

/** Heap access for the drivers: scratch buffers and the current view. */
export interface HeapAccess {
  /** Element offset of a fresh scratch buffer of `floats` floats (freed by the caller's cleanup). */
  scratch(floats: number): number;
  /** The f32 view of the whole memory (ask again after every `scratch`). */
  heap(): Float32Array;
}

/** One tap of {@link convTaps}: input pixel (i*s + dr, j*s + dc) feeds output pixel (i, j). */
export interface Tap {
  dr: number;
  dc: number;
  /** Element offset of this tap's packed B (panels of kc x 8). */
  packed: number;
}

/** Geometry of {@link convTaps}. */
export interface TapConv {
  n: number;
  /** Input grid and channels (the GEMM's reduction length per tap). */
  inH: number;
  inW: number;
  kc: number;
  /** Input stride: output (i, j) reads input row i*s + dr, column j*s + dc. */
  s: number;
  /** Output positions computed, the output grid, and the grid stride they land on. */
  mI: number;
  mJ: number;
  outH: number;
  outW: number;
  os: number;
  /** Output channels (the GEMM's columns). */
  cols: number;
  x: number;
  out: number;
  taps: readonly Tap[];
}

/** Float count of a packed [kc, cols] slice. */
export const packedSize = (kc: number, cols: number): number => kc * Math.ceil(cols / NR) * NR;

/** Packs `taps` slices of a row-major [taps*kc, cols] matrix (the forward filter) at `dst`, tap after tap. */
export function packFilterTaps(kern: GemmKernels, h: Float32Array, w: number, taps: number, kc: number, cols: number, dst: number): void {
  const pack = packRowMajor(kern, w, cols, cols);
  const panels = Math.ceil(cols / NR);
  for (let t = 0; t < taps; t++) pack(h, dst + t * packedSize(kc, cols), t * kc, kc, panels);
}

/**
 * Packs, for the input gradient, tap t = (p, q) of the filter W [kh, kw, cin, cout] as
 * B_t [cout, cin] = W[p, q]^T at dst + t*packedSize(cout, cin).
 */
export function packTransposedTaps(h: Float32Array, w: number, taps: number, cin: number, cout: number, dst: number): void {
  const panels = Math.ceil(cin / NR);
  for (let t = 0; t < taps; t++) {
    const pack: PackB = packStrided(w + t * cin * cout, 1, cout, cin);
    pack(h, dst + t * packedSize(cout, cin), 0, cout, panels);
  }
}

/**
 * out (+)= the tap sum described by `c`. The output must already hold its initial
 * value (zeros or the bias); positions a tap does not reach (padding) get nothing.
 */
export function convTaps(kern: GemmKernels, c: TapConv): void {
  const { n, inH, inW, kc, s, mI, mJ, outH, outW, os, cols, x, out } = c;
  const panels = Math.ceil(cols / NR);
  // Panels of one tap visited together: as many as fit ~256 KiB (L2), so the input
  // segment (<= a row of pixels) stays in L1 across them.
  const block = Math.max(1, Math.floor(65536 / (kc * NR)));
  const tiles = kern.tiles;
  const sai = s * kc * 4;
  const ldc = os * cols * 4;
  for (const tap of c.taps) {
    // Output columns j whose input column j*s + dc lies in [0, inW).
    const j0 = Math.max(0, Math.ceil(-tap.dc / s));
    const j1 = Math.min(mJ, Math.floor((inW - 1 - tap.dc) / s) + 1);
    if (j1 <= j0) continue;
    const len = j1 - j0;
    for (let p0 = 0; p0 < panels; p0 += block) {
      const p1 = Math.min(panels, p0 + block);
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < mI; i++) {
          const r = i * s + tap.dr;
          if (r < 0 || r >= inH) continue;
          const aRow = (x + ((b * inH + r) * inW + j0 * s + tap.dc) * kc) * 4;
          const cRow = out + ((b * outH + i * os) * outW + j0 * os) * cols;
          for (let p = p0; p < p1; p++) {
            const bp = (tap.packed + p * kc * NR) * 4;
            const cp = (cRow + p * NR) * 4;
            if ((p + 1) * NR <= cols) {
              for (let m = 0; m < len; m += 4) tiles[Math.min(4, len - m)]!(aRow + m * sai, sai, 4, bp, cp + m * ldc, ldc, kc, 1);
            } else {
              throw new Error(`convTaps: ${cols} output channels is not a multiple of ${NR}`);
            }
          }
        }
      }
    }
  }
}

/** Geometry of a convolution for {@link filterGradT}. */
export interface FilterGradGeometry {
  n: number;
  h: number;
  w: number;
  cin: number;
  oh: number;
  ow: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
}

/**
 * Packer of the patch matrix col [rows, k] (rows = output pixels, k = (tap, channel))
 * straight from x [n, h, w, cin]; needs cin % 8 == 0 (a panel's 8 columns are 8
 * adjacent channels of one tap, so every packed row is one 32-byte copy).
 */
export function packIm2col(kern: GemmKernels, g: FilterGradGeometry, x: number): PackB {
  const perRow = g.ow;
  return (h, dst, k0, kc, panels) => {
    for (let p = 0; p < panels; p++) {
      const kk = p * NR;
      const tap = Math.floor(kk / g.cin);
      const ci = kk - tap * g.cin;
      const tp = Math.floor(tap / g.kw);
      const tq = tap - tp * g.kw;
      // Output columns whose input column lies inside the image for this tap.
      const jLo = Math.max(0, Math.ceil((g.padLeft - tq) / g.sw));
      const jHi = Math.min(g.ow, Math.floor((g.w - 1 + g.padLeft - tq) / g.sw) + 1);
      const d = dst + p * kc * NR;
      let r = k0;
      const rEnd = k0 + kc;
      while (r < rEnd) {
        const bi = Math.floor(r / perRow);
        const j = r - bi * perRow;
        const seg = Math.min(rEnd - r, perRow - j);
        const b = Math.floor(bi / g.oh);
        const i = bi - b * g.oh;
        const o = d + (r - k0) * NR;
        const row = i * g.sh + tp - g.padTop;
        const lo = Math.min(Math.max(jLo, j), j + seg);
        const hi = Math.max(Math.min(jHi, j + seg), lo);
        if (row < 0 || row >= g.h || hi <= lo) {
          h.fill(0, o, o + seg * NR);
        } else {
          if (lo > j) h.fill(0, o, o + (lo - j) * NR);
          const src = x + ((b * g.h + row) * g.w + lo * g.sw + tq - g.padLeft) * g.cin + ci;
          kern.pack8(src * 4, g.sw * g.cin * 4, (o + (lo - j) * NR) * 4, hi - lo);
          if (hi < j + seg) h.fill(0, o + (hi - j) * NR, o + seg * NR);
        }
        r += seg;
      }
    }
  };
}

/**
 * Packer of the patch matrix for any channel count (one gather per element; used for
 * the 3-channel stem, whose patch matrix is narrow).
 */
export function packIm2colAny(g: FilterGradGeometry, x: number): PackB {
  const k = g.kh * g.kw * g.cin;
  // Per column kk: its tap row/column offsets and channel.
  const tapP = new Int32Array(k);
  const tapQ = new Int32Array(k);
  const chan = new Int32Array(k);
  for (let kk = 0; kk < k; kk++) {
    const tap = Math.floor(kk / g.cin);
    chan[kk] = kk - tap * g.cin;
    tapP[kk] = Math.floor(tap / g.kw);
    tapQ[kk] = tap - tapP[kk]! * g.kw;
  }
  return (h, dst, k0, kc, panels) => {
    for (let p = 0; p < panels; p++) {
      const d = dst + p * kc * NR;
      for (let r = k0; r < k0 + kc; r++) {
        const j = r % g.ow;
        const bi = (r - j) / g.ow;
        const i = bi % g.oh;
        const b = (bi - i) / g.oh;
        const o = d + (r - k0) * NR;
        for (let jj = 0; jj < NR; jj++) {
          const kk = p * NR + jj;
          let v = 0;
          if (kk < k) {
            const row = i * g.sh + tapP[kk]! - g.padTop;
            const col = j * g.sw + tapQ[kk]! - g.padLeft;
            if (row >= 0 && row < g.h && col >= 0 && col < g.w) v = h[x + ((b * g.h + row) * g.w + col) * g.cin + chan[kk]!]!;
          }
          h[o + jj] = v;
        }
      }
    }
  };
}

/**
 * dW^T [cout, k] = dy^T [cout, rows] x col [rows, k] into `outT` (row-major [cout, k]).
 * Pointwise (1x1, stride 1, no padding) convolutions pack x itself.
 */
export function filterGradT(kern: GemmKernels, io: HeapAccess, g: FilterGradGeometry, x: number, dy: number, outT: number, pointwise: boolean): void {
  const rows = g.n * g.oh * g.ow;
  const k = g.kh * g.kw * g.cin;
  const packB = pointwise ? packRowMajor(kern, x, g.cin, g.cin) : g.cin % NR === 0 ? packIm2col(kern, g, x) : packIm2colAny(g, x);
  gemm(kern, { m: g.cout, n: k, k: rows, a: dy, sai: 1, sak: g.cout, packB, c: outT, ldc: k, accumulate: false }, io.scratch, io.heap);
}
