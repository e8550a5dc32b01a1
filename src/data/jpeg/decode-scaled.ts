/**
 * Our baseline JPEG decoder, in two modes that share the parser and the wasm entropy decoder.
 *
 * Scaled (`decode: fast`): a 1024x1024 photo resized to 224 needs a quarter of its pixels at
 * most. libjpeg can decode at 1/2, 1/4 or 1/8 scale (Pillow's `draft`), but sharp only uses
 * 1/4 when the remaining resize is at least 5x (1024 -> 224 gets 1/2), and each sharp call
 * costs about 1 ms of option marshalling and libvips pipeline set-up. This mode picks the
 * largest scale s in {8, 4, 2} that keeps the image at least as large as the target (Pillow's
 * draft rule) and evaluates each block's inverse DCT directly at that scale (scaled-idct.ts):
 * output pixel = the mean of the s x s cell of the full-size decode (chroma box-upsampled),
 * computed from the nonzero coefficients only, in one pass over the entropy-coded data.
 *
 * Full size (`decode: exact` with nearest, decodeJpegExactNearestInto): libjpeg's default
 * decode reproduced bit for bit (islow IDCT, range limiting, fancy upsampling, JFIF colour
 * tables; see assembly/entropy.ts), for grey, 4:4:4 and 4:2:0, with PIL's NEAREST fused in.
 *
 * Scope: 8-bit sequential Huffman JPEGs (SOF0/SOF1; interleaved or not; restart markers;
 * 1 component grey or 3 components YCbCr/RGB; sampling factors that are powers of two).
 * Anything else (progressive, arithmetic coding, 12-bit, CMYK, scale 1, damaged data) raises
 * JpegFallback and the caller decodes with sharp, which also decides whether a damaged file
 * is an error: this decoder never calls a file unreadable on its own. Like PIL, it ignores
 * EXIF orientation and embedded ICC profiles.
 */
import { pilNearestIndex } from '../resize.ts';
import type { RawImage } from '../types.ts';
import { buildHuffmanTable, HuffmanTableError, type HuffmanTable } from './huffman.ts';
import { cellLayout, contributionTable, type CellLayout } from './scaled-idct.ts';
import { wasmDecoder, type WasmDecoder } from './wasm-decoder.ts';

/** This file is outside the decoder's scope or damaged: decode it another way. `reason` says which. */
export class JpegFallback extends Error {}

/** One frame component (SOF entry). */
interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Output cells per block across and down (8 / per-component scale). */
  nx: number;
  ny: number;
  /** Blocks per line and per column in the MCU-padded plane. */
  blocksX: number;
  blocksY: number;
  /** Cell layout of its blocks, set when the first scan that uses the component writes its tables. */
  layout: CellLayout | undefined;
}

interface Frame {
  width: number;
  height: number;
  comps: Component[];
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
  scale: number;
  /** Full-size decode: addresses of each component's row flags in wasm memory. */
  rowNeeds?: number[];
}


/**
 * Largest scale s in {8, 4, 2, 1} with ceil(width/s) >= minW and ceil(height/s) >= minH:
 * the smallest decode that still covers the target size (what Pillow's `draft` picks).
 */
export function jpegScaleFor(width: number, height: number, minW: number, minH: number): number {
  for (const s of [8, 4, 2]) if (Math.ceil(width / s) >= minW && Math.ceil(height / s) >= minH) return s;
  return 1;
}

/**
 * Decode `buf` at the largest scale that keeps it at least minW x minH (see jpegScaleFor)
 * to interleaved RGB. Throws JpegFallback when the file is outside this decoder's scope,
 * when no reduction is possible (scale 1: a full decode is sharp's job), or on damaged data.
 */
export function decodeJpegScaled(bytes: Uint8Array, minW: number, minH: number): RawImage {
  const d = decodePlanes(bytes, minW, minH);
  const W = Math.ceil(d.frame.width / d.frame.scale);
  const H = Math.ceil(d.frame.height / d.frame.scale);
  const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
  return { data: d.mem.toRgb(d.stride, identity(W), identity(H), d.mode).slice(), width: W, height: H, channels: 3 };
}

/**
 * decodeJpegScaled followed by Pillow's NEAREST resize to exactly outW x outH (resize.ts
 * pilNearestIndex on the scaled image), fused into the colour conversion so only the output
 * pixels are converted; the result is written into `out` at byte `offset`. Same pixels as
 * resizeNearestInto(decodeJpegScaled(...)). Throws JpegFallback like decodeJpegScaled.
 */
export function decodeJpegNearestInto(bytes: Uint8Array, outW: number, outH: number, out: Uint8Array, offset: number): void {
  const d = decodePlanes(bytes, outW, outH);
  const W = Math.ceil(d.frame.width / d.frame.scale);
  const H = Math.ceil(d.frame.height / d.frame.scale);
  out.set(d.mem.toRgb(d.stride, pilNearestIndex(W, outW), pilNearestIndex(H, outH), d.mode), offset);
}

/**
 * The study's pixels, fast: a full-size decode bit-identical to libjpeg's defaults (integer
 * "islow" IDCT, fancy upsampling, JFIF colour conversion: what PIL, and sharp in exact mode,
 * produce), then PIL's NEAREST to outW x outH, with upsampling and colour conversion done
 * only for the output pixels. Grey, 4:4:4 and 4:2:0 baseline files; anything else (and
 * everything decodeJpegScaled refuses) raises JpegFallback for sharp.
 */
export function decodeJpegExactNearestInto(bytes: Uint8Array, outW: number, outH: number, out: Uint8Array, offset: number): void {
  const d = decodePlanes(bytes, outW, outH, true);
  const { width: W, height: H } = d.frame;
  const xs = pilNearestIndex(W, outW);
  const ys = pilNearestIndex(H, outH);
  const c = d.frame.comps;
  if (d.frame.hmax === 2) {
    out.set(d.mem.toRgbFancy420(c[0]!.blocksX * 8, c[1]!.blocksX * 8, Math.ceil(W / 2), Math.ceil(H / 2), xs, ys), offset);
  } else out.set(d.mem.toRgb(d.stride, xs, ys, d.mode), offset);
}

/**
 * Full-size decode: which plane rows of component `ci` the NEAREST resize to `outH` rows
 * reads (luma rows; for 4:2:0 chroma, the two rows fancy upsampling blends). All rows when
 * not full size (the flags are unused there).
 */
function rowsNeeded(f: Frame, ci: number, outH: number): Uint8Array {
  const c = f.comps[ci]!;
  const rows = new Uint8Array(c.blocksY * c.ny);
  if (f.scale !== 1) return rows.fill(1);
  const ys = pilNearestIndex(f.height, outH);
  if (ci === 0 || f.vmax === 1) {
    for (const y of ys) rows[y] = 1;
    return rows;
  }
  const ch = Math.ceil(f.height / 2);
  for (const y of ys) {
    const r = y >> 1;
    rows[r] = 1;
    rows[(y & 1) === 0 ? Math.max(r - 1, 0) : Math.min(r + 1, ch - 1)] = 1;
  }
  return rows;
}

/** Decoded planes in wasm memory, with the conversion mode and plane stride. */
interface Planes {
  frame: Frame;
  mem: WasmDecoder;
  /** 0 YCbCr, 1 RGB, 2 grey (see assembly/entropy.ts toRgb). */
  mode: number;
  stride: number;
}

function decodePlanes(bytes: Uint8Array, minW: number, minH: number, full = false): Planes {
  // A plain Uint8Array view (not a Buffer) keeps the hot loop's element loads monomorphic.
  const buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const quant: Array<Uint16Array | undefined> = [];
  const dcTables: Array<HuffmanTable | undefined> = [];
  const acTables: Array<HuffmanTable | undefined> = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  let adobeTransform = -1;
  let jfif = false;
  let scans = 0;
  let mem: WasmDecoder | undefined;
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) throw new JpegFallback('no SOI marker');
  let pos = 2;
  for (;;) {
    // Next marker: skip fill bytes (and, after a scan, anything before the marker).
    while (pos < buf.length && buf[pos] !== 0xff) pos++;
    while (pos < buf.length && buf[pos] === 0xff) pos++;
    if (pos >= buf.length) break;
    const marker = buf[pos++]!;
    if (marker === 0xd9) break; // EOI
    if (marker >= 0xd0 && marker <= 0xd7) continue; // stray RST
    if (marker === 0x01 || marker === 0x00) continue;
    if (pos + 2 > buf.length) throw new JpegFallback('truncated segment header');
    const len = (buf[pos]! << 8) | buf[pos + 1]!;
    const seg = pos + 2;
    const end = pos + len;
    if (len < 2 || end > buf.length) throw new JpegFallback(`segment 0x${marker.toString(16)} runs past the end of the file`);
    pos = end;
    switch (marker) {
      case 0xc0:
      case 0xc1:
        if (frame) throw new JpegFallback('second frame header');
        frame = readFrame(buf, seg, end, minW, minH, full);
        break;
      case 0xc4:
        readHuffman(buf, seg, end, dcTables, acTables);
        break;
      case 0xdb:
        readQuant(buf, seg, end, quant);
        break;
      case 0xdd:
        restartInterval = (buf[seg]! << 8) | buf[seg + 1]!;
        break;
      case 0xe0:
        if (end - seg >= 5 && buf[seg] === 0x4a && buf[seg + 1] === 0x46 && buf[seg + 2] === 0x49 && buf[seg + 3] === 0x46 && buf[seg + 4] === 0) jfif = true;
        break;
      case 0xee:
        // "Adobe" + version(2) + flags0(2) + flags1(2) + transform(1)
        if (end - seg >= 12 && buf[seg] === 0x41 && buf[seg + 1] === 0x64 && buf[seg + 2] === 0x6f && buf[seg + 3] === 0x62 && buf[seg + 4] === 0x65) adobeTransform = buf[seg + 11]!;
        break;
      case 0xda: {
        if (!frame) throw new JpegFallback('scan before frame header');
        if (!mem) {
          mem = wasmDecoder();
          const f = frame;
          try {
            mem.begin(buf, f.comps.map((c) => c.blocksX * c.nx * c.blocksY * c.ny), Math.ceil(f.width / f.scale) * Math.ceil(f.height / f.scale) * 3, f.comps.map((c) => c.blocksY * c.ny));
            f.rowNeeds = f.comps.map((c, ci) => mem!.writeRowNeeds(ci, rowsNeeded(f, ci, minH)));
          } catch (e) {
            // wasm memory cannot grow that far (a damaged header can claim 65535 x 65535).
            throw new JpegFallback(`image too large for the scaled decoder: ${(e as Error).message}`);
          }
        }
        pos = decodeScan(buf, seg, end, frame, quant, dcTables, acTables, restartInterval, mem, full);
        scans++;
        break;
      }
      case 0xdc:
        throw new JpegFallback('DNL marker');
      default:
        if (marker >= 0xc2 && marker <= 0xcf) throw new JpegFallback(`unsupported coding process (SOF 0x${marker.toString(16)}: progressive, lossless or arithmetic)`);
      // APPn, COM, others: skipped.
    }
  }
  if (!frame || scans === 0) throw new JpegFallback('no frame or no scan');
  for (const c of frame.comps) if (!c.layout) throw new JpegFallback(`component ${c.id} never appears in a scan`);
  const ids = frame.comps.map((x) => x.id);
  const rgb = adobeTransform === 0 || (adobeTransform < 0 && !jfif && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42);
  const c0 = frame.comps[0]!;
  return { frame, mem: mem!, mode: frame.comps.length === 1 ? 2 : rgb ? 1 : 0, stride: c0.blocksX * c0.nx };
}

function readFrame(buf: Uint8Array, seg: number, end: number, minW: number, minH: number, full: boolean): Frame {
  if (end - seg < 6) throw new JpegFallback('short frame header');
  if (buf[seg] !== 8) throw new JpegFallback(`${buf[seg]}-bit samples`);
  const height = (buf[seg + 1]! << 8) | buf[seg + 2]!;
  const width = (buf[seg + 3]! << 8) | buf[seg + 4]!;
  const n = buf[seg + 5]!;
  if (height === 0 || width === 0) throw new JpegFallback('zero image size (DNL)');
  if (n !== 1 && n !== 3) throw new JpegFallback(`${n} components`);
  if (end - seg < 6 + 3 * n) throw new JpegFallback('short frame header');
  const raw = Array.from({ length: n }, (_, i) => ({ id: buf[seg + 6 + 3 * i]!, h: buf[seg + 7 + 3 * i]! >> 4, v: buf[seg + 7 + 3 * i]! & 15, tq: buf[seg + 8 + 3 * i]! }));
  // A single-component image is decoded in blocks regardless of its sampling factors.
  if (n === 1) raw[0]!.h = raw[0]!.v = 1;
  const hmax = Math.max(...raw.map((c) => c.h));
  const vmax = Math.max(...raw.map((c) => c.v));
  if (full) {
    // Full size: grey, 4:4:4, or 4:2:0 with luma 2x2 (libjpeg's fancy upsampling needs >= 3 chroma columns).
    const ok = n === 1 || raw.every((c, i) => (i === 0 ? c.h === hmax && c.v === vmax : c.h === 1 && c.v === 1));
    if (!ok || !((hmax === 1 && vmax === 1) || (hmax === 2 && vmax === 2))) throw new JpegFallback(`sampling ${raw.map((c) => `${c.h}x${c.v}`).join(' ')} at full size`);
    if (hmax === 2 && (Math.ceil(width / 2) <= 2 || Math.ceil(height / 2) < 2)) throw new JpegFallback('too small for fancy upsampling');
  }
  const scale = full ? 1 : jpegScaleFor(width, height, minW, minH);
  if (scale === 1 && !full) throw new JpegFallback('no reduction possible');
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  const comps = raw.map((c): Component => {
    if (c.h < 1 || c.v < 1 || c.h > 4 || c.v > 4) throw new JpegFallback(`component ${c.id} has sampling ${c.h}x${c.v}`);
    // Per-component scale: s * (component samples per luma sample), a power of two in 1..8.
    // Full size: every component keeps its own resolution (8x8 samples per block).
    const sx = full ? 1 : (scale * c.h) / hmax;
    const sy = full ? 1 : (scale * c.v) / vmax;
    if (![1, 2, 4, 8].includes(sx) || ![1, 2, 4, 8].includes(sy)) throw new JpegFallback(`sampling ${c.h}x${c.v} of ${hmax}x${vmax} at scale 1/${scale}`);
    const blocksX = mcusX * c.h;
    const blocksY = mcusY * c.v;
    const nx = 8 / sx;
    const ny = 8 / sy;
    return { id: c.id, h: c.h, v: c.v, tq: c.tq, nx, ny, blocksX, blocksY, layout: undefined };
  });
  return { width, height, comps, hmax, vmax, mcusX, mcusY, scale };
}

function readHuffman(buf: Uint8Array, seg: number, end: number, dc: Array<HuffmanTable | undefined>, ac: Array<HuffmanTable | undefined>): void {
  let p = seg;
  while (p < end) {
    if (p + 17 > end) throw new JpegFallback('short DHT segment');
    const tc = buf[p]! >> 4;
    const th = buf[p]! & 15;
    const counts = buf.subarray(p + 1, p + 17);
    let total = 0;
    for (let i = 0; i < 16; i++) total += counts[i]!;
    if (p + 17 + total > end || th > 3 || tc > 1) throw new JpegFallback('bad DHT segment');
    let table: HuffmanTable;
    try {
      table = buildHuffmanTable(counts, buf.subarray(p + 17, p + 17 + total));
    } catch (e) {
      if (e instanceof HuffmanTableError) throw new JpegFallback(e.message);
      throw e;
    }
    (tc === 0 ? dc : ac)[th] = table;
    p += 17 + total;
  }
}

function readQuant(buf: Uint8Array, seg: number, end: number, quant: Array<Uint16Array | undefined>): void {
  let p = seg;
  while (p < end) {
    const pq = buf[p]! >> 4;
    const tq = buf[p]! & 15;
    const size = pq === 0 ? 64 : 128;
    if (p + 1 + size > end || tq > 3) throw new JpegFallback('bad DQT segment');
    const q = new Uint16Array(64);
    for (let k = 0; k < 64; k++) q[k] = pq === 0 ? buf[p + 1 + k]! : (buf[p + 1 + 2 * k]! << 8) | buf[p + 2 + 2 * k]!;
    quant[tq] = q;
    p += 1 + size;
  }
}

/**
 * Decode one scan whose header is buf[seg, end); the entropy-coded data follows. The header
 * and tables are read here; the wasm half decodes the data (each block's coefficients go
 * straight into its output cells). Returns the position where the marker search resumes.
 */
function decodeScan(
  buf: Uint8Array,
  seg: number,
  end: number,
  frame: Frame,
  quant: Array<Uint16Array | undefined>,
  dcTables: Array<HuffmanTable | undefined>,
  acTables: Array<HuffmanTable | undefined>,
  restartInterval: number,
  mem: WasmDecoder,
  full: boolean,
): number {
  const ns = buf[seg]!;
  if (ns < 1 || ns > 4 || end - seg < 4 + 2 * ns) throw new JpegFallback('bad scan header');
  const scomps: Component[] = [];
  const slots: Array<[number, number]> = [];
  for (let i = 0; i < ns; i++) {
    const id = buf[seg + 1 + 2 * i]!;
    const c = frame.comps.find((x) => x.id === id);
    const td = buf[seg + 2 + 2 * i]! >> 4;
    const ta = buf[seg + 2 + 2 * i]! & 15;
    const dc = dcTables[td];
    const ac = acTables[ta];
    const q = c ? quant[c.tq] : undefined;
    if (!c || !dc || !ac || !q || td > 3 || ta > 3) throw new JpegFallback(`scan names component ${id} or a table that is not defined`);
    if (!c.layout) {
      if (full) {
        // The full-size loop dequantises and runs the islow IDCT: no contribution table.
        mem.writeQuant(frame.comps.indexOf(c), q);
        c.layout = cellLayout(c.nx, c.ny);
      } else {
        const t = contributionTable(q, 8 / c.nx, 8 / c.ny);
        mem.writeContribution(frame.comps.indexOf(c), t.table, usefulCoefficients(t.table, t.layout.perK));
        c.layout = t.layout;
      }
    }
    mem.writeHuffman(td, dc);
    mem.writeHuffman(4 + ta, ac);
    scomps.push(c);
    slots.push([td, 4 + ta]);
  }
  const ss = buf[seg + 1 + 2 * ns]!;
  const se = buf[seg + 2 + 2 * ns]!;
  if (ss !== 0 || se !== 63) throw new JpegFallback('spectral selection in a sequential scan');

  // Block descriptors of one MCU, in order (see assembly/entropy.ts for the layout).
  const single = ns === 1;
  const descs: number[][] = [];
  scomps.forEach((c, ci) => {
    const ci3 = frame.comps.indexOf(c);
    const [dcSlot, acSlot] = slots[ci]!;
    const rows = single ? 1 : c.v;
    const cols = single ? 1 : c.h;
    for (let dy = 0; dy < rows; dy++) {
      for (let dx = 0; dx < cols; dx++) {
        descs.push([mem.huffmanPtr(dcSlot), mem.huffmanPtr(acSlot), mem.contributionPtr(ci3), mem.usefulPtr(ci3), mem.planePtr(ci3), c.nx, c.ny, c.blocksX * c.nx, rows, cols, dy, dx, ci, mem.fastAcPtr(acSlot), c.layout!.perK, c.layout!.rowStride, frame.rowNeeds?.[ci3] ?? 0]);
      }
    }
  });
  if (descs.length > 10) throw new JpegFallback(`${descs.length} blocks per MCU`);
  const c0 = scomps[0]!;
  // Non-interleaved scans cover only the component's own blocks (not MCU padding).
  const perLine = single ? Math.ceil(Math.ceil((frame.width * c0.h) / frame.hmax) / 8) : frame.mcusX;
  const perCol = single ? Math.ceil(Math.ceil((frame.height * c0.v) / frame.vmax) / 8) : frame.mcusY;
  const r = mem.decodeScan(end, descs, perLine, perLine * perCol, restartInterval, ns, full);
  if (r >= 0) return r;
  throw new JpegFallback(SCAN_ERRORS[-r] ?? `scan error ${r}`);
}

const SCAN_ERRORS: Record<number, string> = {
  1: 'entropy-coded data ends early',
  2: 'missing restart marker',
  3: 'bad Huffman code',
  4: 'coefficient index past 63',
  5: 'bad DC magnitude',
};

/** 1 for each zig-zag index whose contribution to any output cell is nonzero, else 0. */
function usefulCoefficients(table: Float32Array, nn: number): Uint8Array {
  const u = new Uint8Array(64);
  for (let k = 0; k < 64; k++) for (let m = 0; m < nn; m++) if (Math.abs(table[k * nn + m]!) > 1e-9) u[k] = 1;
  return u;
}
