/**
 * The WebAssembly half of the scaled JPEG decoder (source: assembly/entropy.ts), with the
 * memory layout both halves agree on. One instance per thread, reused for every image: its
 * memory grows to the largest file seen and stays.
 */
import { buildFastAc, FAST_AC_BITS, type HuffmanTable } from './huffman.ts';
import { ENTROPY_WASM_BASE64 } from './entropy-wasm.ts';
import { ZIGZAG_TO_NATURAL } from './scaled-idct.ts';

interface Exports {
  memory: WebAssembly.Memory;
  decodeScan(start: number, end: number, descs: number, blocks: number, perLine: number, total: number, restartInterval: number, preds: number, ncomp: number, cells: number): number;
  decodeScanFull(start: number, end: number, descs: number, blocks: number, perLine: number, total: number, restartInterval: number, preds: number, ncomp: number, cells: number, zz: number, rl: number): number;
  toRgbFancy420(y: number, ystride: number, cb: number, cr: number, cs: number, cw: number, ch: number, xs: number, ys: number, W: number, H: number, out: number): void;
  toRgb(a: number, b: number, c: number, stride: number, xs: number, ys: number, W: number, H: number, out: number, mode: number): void;
}

/** Bytes of one Huffman table in wasm memory: lookup u16[512], maxCode i32[18], valOffset i32[18], values u8[256]. */
const TABLE_BYTES = 1024 + 72 + 72 + 256;
const HUFF = 64;
/** Combined AC tables (huffman.ts buildFastAc), one per AC slot. */
const FAST_AC = HUFF + 8 * TABLE_BYTES;
const FAST_AC_BYTES = 4 << FAST_AC_BITS;
const DESCS = FAST_AC + 4 * FAST_AC_BYTES;
const DESC_FIELDS = 17;
const PREDS = DESCS + 10 * DESC_FIELDS * 4;
const CELLS = align16(PREDS + 16);
/** Zig-zag to natural order (u8[64]) and libjpeg's post-IDCT range-limit table (u8[1024]). */
const ZZ = CELLS + 512;
const RL = ZZ + 64;
/** Room for one component's contribution table at the largest per-block output (8x8 f32 cells). */
const CONTRIB_BYTES = 64 * 64 * 4;
const CONTRIB = align16(RL + 1024);
const USEFUL = CONTRIB + 3 * CONTRIB_BYTES;
const PLANES = align8(USEFUL + 3 * 64);

function align8(n: number): number {
  return (n + 7) & ~7;
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

/** A wasm instance plus the layout of the image being decoded. */
export class WasmDecoder {
  private readonly x: Exports;
  private planes: number[] = [];
  private rowNeeds: number[] = [];
  private data = 0;
  private dataLen = 0;
  private out = 0;
  private outBytes = 0;

  constructor() {
    const mod = new WebAssembly.Module(Buffer.from(ENTROPY_WASM_BASE64, 'base64'));
    this.x = new WebAssembly.Instance(mod, {}).exports as unknown as Exports;
    const buf = this.x.memory.buffer;
    new Uint8Array(buf, ZZ, 64).set(ZIGZAG_TO_NATURAL);
    // x & 1023 -> clamp(x + 128) for x in [-512, 511] (wrapping outside, as libjpeg's table).
    new Uint8Array(buf, RL, 1024).set(Uint8Array.from({ length: 1024 }, (_, j) => (j < 128 ? j + 128 : j < 512 ? 255 : j < 896 ? 0 : j - 896)));
  }

  /** Lay out memory for one image (planes of the given byte sizes, the file, the RGB output) and copy the file in. */
  begin(file: Uint8Array, planeBytes: number[], outBytes: number, planeRows: number[] = []): void {
    let p = PLANES;
    this.rowNeeds = planeRows.map((n) => {
      const at = p;
      p = align8(p + n);
      return at;
    });
    this.planes = planeBytes.map((n) => {
      const at = p;
      p = align8(p + n);
      return at;
    });
    this.data = p;
    this.dataLen = file.length;
    this.out = align8(p + file.length + 8);
    this.outBytes = outBytes;
    const need = this.out + outBytes;
    const mem = this.x.memory;
    if (need > mem.buffer.byteLength) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
    new Uint8Array(mem.buffer, this.data, file.length).set(file);
  }

  /** Address of Huffman slot `slot` (0-3 DC, 4-7 AC). */
  huffmanPtr(slot: number): number {
    return HUFF + slot * TABLE_BYTES;
  }

  /** Copy a Huffman table into slot `slot`. */
  writeHuffman(slot: number, t: HuffmanTable): void {
    const buf = this.x.memory.buffer;
    const at = this.huffmanPtr(slot);
    new Uint16Array(buf, at, 512).set(t.lookup);
    new Int32Array(buf, at + 1024, 18).set(t.maxCode);
    new Int32Array(buf, at + 1024 + 72, 18).set(t.valOffset);
    new Uint8Array(buf, at + 1024 + 144, 256).set(t.values.subarray(0, 256));
    if (slot >= 4) new Int32Array(buf, this.fastAcPtr(slot), 1 << FAST_AC_BITS).set(buildFastAc(t));
  }

  /** Address of the combined AC table of AC slot `slot` (4-7). */
  fastAcPtr(slot: number): number {
    return FAST_AC + (slot - 4) * FAST_AC_BYTES;
  }

  /** Address of frame component `ci`'s contribution table. */
  contributionPtr(ci: number): number {
    return CONTRIB + ci * CONTRIB_BYTES;
  }

  /** Address of frame component `ci`'s useful-coefficient flags. */
  usefulPtr(ci: number): number {
    return USEFUL + ci * 64;
  }

  /**
   * Full-size decode: flag the plane rows of component `ci` that will be read (the rest are
   * not inverse-transformed). Returns the flags' address for the block descriptors.
   */
  writeRowNeeds(ci: number, rows: Uint8Array): number {
    const at = this.rowNeeds[ci]!;
    new Uint8Array(this.x.memory.buffer, at, rows.length).set(rows);
    return at;
  }

  /** Address of frame component `ci`'s output plane. */
  planePtr(ci: number): number {
    return this.planes[ci]!;
  }

  /** Full-size decode: copy component `ci`'s quantisation table (zig-zag order) in as i32. */
  writeQuant(ci: number, quant: Uint16Array): void {
    new Int32Array(this.x.memory.buffer, this.contributionPtr(ci), 64).set(quant);
  }

  /** Copy component `ci`'s contribution table and useful flags in. */
  writeContribution(ci: number, table: Float32Array, useful: Uint8Array): void {
    const buf = this.x.memory.buffer;
    new Float32Array(buf, this.contributionPtr(ci), table.length).set(table);
    new Uint8Array(buf, this.usefulPtr(ci), 64).set(useful);
  }

  /**
   * Decode a scan whose entropy-coded data starts at file offset `start`. Returns the file
   * offset where the marker search resumes, or a negative error code (assembly/entropy.ts).
   */
  decodeScan(start: number, descs: number[][], perLine: number, total: number, restartInterval: number, ncomp: number, full = false): number {
    const d = new Int32Array(this.x.memory.buffer, DESCS, descs.length * DESC_FIELDS);
    descs.forEach((row, i) => d.set(row, i * DESC_FIELDS));
    const a = [this.data + start, this.data + this.dataLen, DESCS, descs.length, perLine, total, restartInterval, PREDS, ncomp, CELLS] as const;
    const r = full ? this.x.decodeScanFull(...a, ZZ, RL) : this.x.decodeScan(...a);
    return r < 0 ? r : r - this.data;
  }

  /**
   * Full-size 4:2:0 planes to RGB at pixels (xs[x], ys[y]) with libjpeg's fancy upsampling;
   * a view valid until the next call (copy it out).
   */
  toRgbFancy420(ystride: number, cstride: number, cw: number, ch: number, xs: Int32Array, ys: Int32Array): Uint8Array {
    const [at, W, H] = this.maps(xs, ys);
    this.x.toRgbFancy420(this.planes[0]!, ystride, this.planes[1]!, this.planes[2]!, cstride, cw, ch, at, at + 4 * W, W, H, this.out);
    return new Uint8Array(this.x.memory.buffer, this.out, W * H * 3);
  }

  /** Copy the index maps after the output buffer; returns [address of xs, W, H]. */
  private maps(xs: Int32Array, ys: Int32Array): [number, number, number] {
    const W = xs.length;
    const H = ys.length;
    const xsAt = align8(this.out + Math.max(this.outBytes, W * H * 3));
    const need = xsAt + 4 * (W + H);
    const mem = this.x.memory;
    if (need > mem.buffer.byteLength) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
    new Int32Array(mem.buffer, xsAt, W).set(xs);
    new Int32Array(mem.buffer, xsAt + 4 * W, H).set(ys);
    return [xsAt, W, H];
  }

  /**
   * Interleave the planes to RGB (mode 0 YCbCr, 1 RGB, 2 grey), output pixel (x, y) read
   * from plane pixel (xs[x], ys[y]), and return a view of the W x H x 3 result in wasm
   * memory: valid until the next call on this decoder, so copy it out.
   */
  toRgb(stride: number, xs: Int32Array, ys: Int32Array, mode: number): Uint8Array {
    const [a, b, c] = [this.planes[0]!, this.planes[1] ?? 0, this.planes[2] ?? 0];
    const [at, W, H] = this.maps(xs, ys);
    this.x.toRgb(a, b, c, stride, at, at + 4 * W, W, H, this.out, mode);
    return new Uint8Array(this.x.memory.buffer, this.out, W * H * 3);
  }
}

let shared: WasmDecoder | undefined;

/** This thread's decoder instance (created on first use). */
export function wasmDecoder(): WasmDecoder {
  shared ??= new WasmDecoder();
  return shared;
}
