// AssemblyScript source of the WebAssembly half of the scaled JPEG decoder (decode-scaled.ts).
// Build: `npm run build:wasm` writes ../entropy-wasm.ts (the module as base64); a test checks
// that the committed build matches this source. The JavaScript side parses markers, builds
// the tables and lays out memory; this side runs the loops that cost: entropy decoding with
// the scaled inverse DCT of every block (or libjpeg's full-size islow IDCT), upsampling and
// the colour conversion.
//
// Memory layouts (all little-endian, offsets in bytes):
//   Huffman table (TABLE_BYTES): lookup u16[512] | maxCode i32[18] | valOffset i32[18] | values u8[256]
//   Block descriptor (DESC_BYTES, one per block of an MCU), i32 fields:
//     0 dc table ptr, 1 ac table ptr, 2 contribution table ptr (f32[64*nn], 16-byte aligned), 3 useful ptr (u8[64]),
//     4 plane ptr (u8), 5 nx, 6 ny, 7 plane stride, 8 row multiplier, 9 col multiplier,
//     10 dy, 11 dx, 12 component index within the scan, 13 combined AC table ptr (i32[1024],
//     entries (value << 9) | (run << 5) | bits, 0 = take the slow path), 14 floats per
//     coefficient in the contribution table (4 = packed 2x2 cells), 15 cell row stride (floats),
//     16 full-size decode: row flags ptr (u8 per plane row, 1 = needed; other rows stay unwritten)

const LOOKUP_BITS: i32 = 9;
const LOOKUP_MASK: u32 = 511;
const MAXCODE: i32 = 1024;
const VALOFFSET: i32 = 1024 + 72;
const VALUES: i32 = 1024 + 144;
const DESC_BYTES: i32 = 68;
const FAST_BITS: i32 = 10;
const FAST_MASK: u32 = 1023;

// Clamp to 0..255 with selects (wasm has no integer min/max; f64 min/max carry NaN checks).
// @ts-ignore: decorator
@inline
function clamp255(v: i32): i32 {
  v = select<i32>(v, 0, v > 0);
  return select<i32>(v, 255, v < 255);
}

// Four cells to bytes: level shift +128, round half up, clamp to 0..255 (lane-wise).
// @ts-ignore: decorator
@inline
function bytes4(x: v128): v128 {
  const r = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.add(x, f32x4.splat(128.5))));
  return i32x4.min_s(i32x4.max_s(r, i32x4.splat(0)), i32x4.splat(255));
}

/**
 * Decode `total` MCUs of one scan whose entropy-coded data starts at `start` (data ends at
 * `end`), with `blocks` block descriptors per MCU at `descs`, `perLine` MCUs per row,
 * DC predictors at `preds` (i32 per scan component) and scratch cells at `cells`
 * (f64[64]). Returns the position where the marker search resumes, or a negative code:
 * -1 data ends early, -2 missing restart marker, -3 bad Huffman code, -4 coefficient index
 * past 63, -5 bad DC magnitude.
 */
export function decodeScan(start: i32, end: i32, descs: i32, blocks: i32, perLine: i32, total: i32, restartInterval: i32, preds: i32, ncomp: i32, cells: i32): i32 {
  return scan(start, end, descs, blocks, perLine, total, restartInterval, preds, ncomp, cells, false, 0, 0);
}

/**
 * decodeScan for the full-size decode: coefficients go to libjpeg's islow IDCT instead of
 * the scaled cells (`zz`: zig-zag to natural order, `rl`: the range-limit table). Two
 * exports of one inlined body, so each is compiled without the other's branches.
 */
export function decodeScanFull(start: i32, end: i32, descs: i32, blocks: i32, perLine: i32, total: i32, restartInterval: i32, preds: i32, ncomp: i32, cells: i32, zz: i32, rl: i32): i32 {
  return scan(start, end, descs, blocks, perLine, total, restartInterval, preds, ncomp, cells, true, zz, rl);
}

// @ts-ignore: decorator
@inline
function scan(start: i32, end: i32, descs: i32, blocks: i32, perLine: i32, total: i32, restartInterval: i32, preds: i32, ncomp: i32, cells: i32, full: bool, zz: i32, rl: i32): i32 {
  // Bit reader state in locals: wasm globals would be memory traffic in the hottest loop.
  let acc: u64 = 0;
  let cnt: i32 = 0;
  let pos = start;
  let padded: i32 = 0;
  for (let i = 0; i < ncomp; i++) store<i32>(preds + (i << 2), 0);
  // Full-size blocks collect coefficients in `cells` and expect zeros there (a scaled decode
  // leaves its float cells behind); each block clears what it used.
  if (full) for (let m = 0; m < 256; m += 16) v128.store(cells + m, i32x4.splat(0));
  for (let mcu = 0; mcu < total; mcu++) {
    if (restartInterval > 0 && mcu > 0 && mcu % restartInterval == 0) {
      if (padded * 8 > cnt) return -1;
      acc = 0;
      cnt = 0;
      padded = 0;
      while (pos < end && load<u8>(pos) != 0xff) pos++;
      if (pos + 1 < end && load<u8>(pos + 1) >= 0xd0 && load<u8>(pos + 1) <= 0xd7) pos += 2;
      else return -2;
      for (let i = 0; i < ncomp; i++) store<i32>(preds + (i << 2), 0);
    }
    const mRow = mcu / perLine;
    const mCol = mcu - mRow * perLine;
    for (let b = 0; b < blocks; b++) {
      const d = descs + b * DESC_BYTES;
      const dcT = load<i32>(d);
      const acT = load<i32>(d, 4);
      const table = load<i32>(d, 8);
      const useful = load<i32>(d, 12);
      const nx = load<i32>(d, 20);
      const ny = load<i32>(d, 24);
      const fastAc = load<i32>(d, 52);
      const nn = load<i32>(d, 56);
      const rowStride = load<i32>(d, 60);
      // 2x2 cells per block (luma at 1/4, the common case) live in one vector.
      const four = nx == 2 && ny == 2;
      let q = f32x4.splat(0);

      // k = 0 is the DC coefficient (its own table, a difference to the predictor), 1..63 AC.
      let k = 0;
      let lastK = 0; // full size: the last nonzero zig-zag index (shortcuts in the IDCT)
      while (k < 64) {
        if (cnt < 32) {
          // 64-bit reader: take 4 bytes at once unless one of them is 0xFF (a stuffed byte or
          // a marker). With >= 32 bits a whole code (<= 16) and its magnitude (<= 15) fit.
          let fast = false;
          if (pos + 4 <= end) {
            const w = load<u32>(pos);
            const nw = ~w;
            if (((nw - 0x01010101) & ~nw & 0x80808080) == 0) {
              acc = (acc << 32) | <u64>bswap<u32>(w);
              pos += 4;
              cnt += 32;
              fast = true;
            }
          }
          if (!fast) {
            while (cnt <= 56) {
              let byte: u64 = 0;
              if (pos < end) {
                byte = <u64>load<u8>(pos);
                if (byte == 0xff) {
                  if (pos + 1 < end && load<u8>(pos + 1) == 0) pos += 2;
                  else {
                    byte = 0; // a marker: feed zeros and count them (checked at the end)
                    padded++;
                  }
                } else pos++;
              } else padded++;
              acc = (acc << 8) | byte;
              cnt += 8;
            }
          }
        }
        let v: f32;
        const fe = k == 0 ? 0 : load<i32>(fastAc + (<i32>(<u32>(acc >> <u64>(cnt - FAST_BITS)) & FAST_MASK) << 2));
        if (fe != 0) {
          // Code and magnitude in one read (huffman.ts buildFastAc).
          cnt -= fe & 31;
          k += (fe >> 5) & 15;
          if (k > 63) return -4;
          v = <f32>(fe >> 9);
        } else {
          const t = k == 0 ? dcT : acT;
          let sym = 0;
          const e = <i32>load<u16>(t + (<i32>(<u32>(acc >> <u64>(cnt - LOOKUP_BITS)) & LOOKUP_MASK) << 1));
          if (e != 0) {
            cnt -= e >> 8;
            sym = e & 255;
          } else {
            let l = LOOKUP_BITS + 1;
            let code = <i32>(acc >> <u64>(cnt - l)) & ((1 << l) - 1);
            while (code > load<i32>(t + MAXCODE + (l << 2))) {
              l++;
              if (l > 16) return -3;
              code = <i32>(acc >> <u64>(cnt - l)) & ((1 << l) - 1);
            }
            cnt -= l;
            sym = <i32>load<u8>(t + VALUES + code + load<i32>(t + VALOFFSET + (l << 2)));
          }
          // DC: sym is the magnitude category; AC: run << 4 | size, size 0 = EOB or 16 zeros.
          const s = k == 0 ? sym : sym & 15;
          if (k == 0) {
            if (s > 11) return -5;
          } else if (s == 0) {
            if (sym >> 4 != 15) break;
            k += 16;
            continue;
          } else {
            k += sym >> 4;
            if (k > 63) return -4;
          }
          let x = 0;
          if (s != 0) {
            x = <i32>(acc >> <u64>(cnt - s)) & ((1 << s) - 1);
            cnt -= s;
            x += select<i32>((-1 << s) + 1, 0, x < 1 << (s - 1)); // branchless EXTEND
          }
          if (k == 0) {
            const pp = preds + (load<i32>(d, 48) << 2);
            x += load<i32>(pp);
            store<i32>(pp, x);
          }
          v = <f32>x;
        }
        if (full) {
          // Full-size decode: collect the dequantised coefficient (table = quant, zig-zag order).
          store<i32>(cells + (<i32>load<u8>(zz + k) << 2), <i32>v * load<i32>(table + (k << 2)));
          lastK = k;
          k++;
          continue;
        }
        // Add this coefficient's share to the block's cells, four at a time (f32x4).
        const base = table + ((k * nn) << 2);
        const vv = f32x4.splat(v);
        if (four) {
          // No branch on `useful` here: zero entries cost less than a mispredicted jump.
          q = f32x4.add(q, f32x4.mul(vv, v128.load(base)));
        } else if (k == 0) {
          for (let m = 0; m < nn; m += 4) v128.store(cells + (m << 2), f32x4.mul(vv, v128.load(base + (m << 2))));
        } else if (load<u8>(useful + k) != 0) {
          for (let m = 0; m < nn; m += 4) {
            const c = cells + (m << 2);
            v128.store(c, f32x4.add(v128.load(c), f32x4.mul(vv, v128.load(base + (m << 2)))));
          }
        }
        k++;
      }
      const stride = load<i32>(d, 28);
      const bRow = mRow * load<i32>(d, 32) + load<i32>(d, 40);
      const bCol = mCol * load<i32>(d, 36) + load<i32>(d, 44);
      let o = load<i32>(d, 16) + bRow * ny * stride + bCol * nx;
      if (full) {
        const need = load<i32>(d, 64) + bRow * 8;
        if (lastK == 0) {
          // DC only: both passes reduce to one value (the same arithmetic as the full IDCT).
          const v = load<u8>(rl + ((((load<i32>(cells) << PASS1_BITS) + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023));
          for (let r = 0; r < 8; r++, o += stride) if (load<u8>(need + r) != 0) store<u64>(o, <u64>v * 0x0101010101010101);
          store<i32>(cells, 0);
        } else {
          // Zig-zag indices <= 9 all lie in columns 0-3: the right half of pass 1 is zero.
          idctIslow(cells, cells + 256, o, stride, rl, need, lastK <= 9);
          for (let m = 0; m < 256; m += 16) v128.store(cells + m, i32x4.splat(0));
        }
      } else if (four) {
        const r = bytes4(q);
        store<u8>(o, <u8>i32x4.extract_lane(r, 0));
        store<u8>(o + 1, <u8>i32x4.extract_lane(r, 1));
        store<u8>(o + stride, <u8>i32x4.extract_lane(r, 2));
        store<u8>(o + stride + 1, <u8>i32x4.extract_lane(r, 3));
      } else {
        // Rows of `rowStride` floats (whole vectors); only the first nx lanes of a row are cells.
        for (let i = 0; i < ny; i++, o += stride) {
          for (let j = 0; j < nx; j += 4) {
            const r = bytes4(v128.load(cells + ((i * rowStride + j) << 2)));
            store<u8>(o + j, <u8>i32x4.extract_lane(r, 0));
            if (nx - j > 1) store<u8>(o + j + 1, <u8>i32x4.extract_lane(r, 1));
            if (nx - j > 2) {
              store<u8>(o + j + 2, <u8>i32x4.extract_lane(r, 2));
              store<u8>(o + j + 3, <u8>i32x4.extract_lane(r, 3));
            }
          }
        }
      }
    }
  }
  if (padded * 8 > cnt) return -1;
  return pos;
}

/**
 * Interleave planes at `a`, `b`, `c` (row stride `stride`) into W x H RGB at `out`, output
 * pixel (x, y) taken from plane pixel (xs[x], ys[y]) (i32 maps at `xs`, `ys`: the identity
 * for the whole scaled image, or a nearest-neighbour resize fused into the conversion):
 * mode 0 YCbCr (JFIF), 1 RGB, 2 grey (only `a` is read).
 */
export function toRgb(a: i32, b: i32, c: i32, stride: i32, xs: i32, ys: i32, W: i32, H: i32, out: i32, mode: i32): void {
  let o = out;
  for (let y = 0; y < H; y++) {
    const row = load<i32>(ys + (y << 2)) * stride;
    if (mode == 0) {
      // JFIF YCbCr -> RGB in 16-bit fixed point (the constants are round(k * 65536)).
      for (let x = 0; x < W; x++, o += 3) {
        const p = row + load<i32>(xs + (x << 2));
        const Y = (<i32>load<u8>(a + p) << 16) + 32768;
        const cb = <i32>load<u8>(b + p) - 128;
        const cr = <i32>load<u8>(c + p) - 128;
        store<u8>(o, clamp255((Y + 91881 * cr) >> 16));
        store<u8>(o + 1, clamp255((Y - 22554 * cb - 46802 * cr) >> 16));
        store<u8>(o + 2, clamp255((Y + 116130 * cb) >> 16));
      }
    } else if (mode == 1) {
      for (let x = 0; x < W; x++, o += 3) {
        const p = row + load<i32>(xs + (x << 2));
        store<u8>(o, load<u8>(a + p));
        store<u8>(o + 1, load<u8>(b + p));
        store<u8>(o + 2, load<u8>(c + p));
      }
    } else {
      for (let x = 0; x < W; x++, o += 3) {
        const g = load<u8>(a + row + load<i32>(xs + (x << 2)));
        store<u8>(o, g);
        store<u8>(o + 1, g);
        store<u8>(o + 2, g);
      }
    }
  }
}

// ---- Full-size decode, bit-exact with libjpeg's defaults (what PIL and sharp produce) ----
// The integer "islow" inverse DCT (13-bit constants, 2 extra bits between passes) and the
// range-limit table `rl` (1024 bytes: x & 1023 -> clamped x + 128, wrapping outside
// [-512, 511] exactly as libjpeg's table does).

const CONST_BITS: i32 = 13;
const PASS1_BITS: i32 = 2;

// @ts-ignore: decorator
@inline
function idctIslow(inp: i32, ws: i32, out: i32, stride: i32, rl: i32, need: i32, leftOnly: bool): void {
  if (leftOnly) for (let r = 0; r < 8; r++) v128.store(ws + (r << 5), i32x4.splat(0), 16);
  // Pass 1: columns, four at a time (i32x4 lanes = columns), into the i32 workspace scaled
  // by 2^PASS1_BITS. Same integer arithmetic as one column at a time, so the same bits.
  const hEnd: i32 = leftOnly ? 16 : 32;
  for (let h = 0; h < hEnd; h += 16) {
    const a = inp + h;
    const i0 = v128.load(a);
    const i1 = v128.load(a, 32);
    const i2 = v128.load(a, 64);
    const i3 = v128.load(a, 96);
    const i4 = v128.load(a, 128);
    const i5 = v128.load(a, 160);
    const i6 = v128.load(a, 192);
    const i7 = v128.load(a, 224);
    const z1e = i32x4.mul(i32x4.add(i2, i6), i32x4.splat(4433));
    const tmp2e = i32x4.add(z1e, i32x4.mul(i6, i32x4.splat(-15137)));
    const tmp3e = i32x4.add(z1e, i32x4.mul(i2, i32x4.splat(6270)));
    const tmp0e = i32x4.shl(i32x4.add(i0, i4), CONST_BITS);
    const tmp1e = i32x4.shl(i32x4.sub(i0, i4), CONST_BITS);
    const tmp10 = i32x4.add(tmp0e, tmp3e);
    const tmp13 = i32x4.sub(tmp0e, tmp3e);
    const tmp11 = i32x4.add(tmp1e, tmp2e);
    const tmp12 = i32x4.sub(tmp1e, tmp2e);
    let z3 = i32x4.add(i7, i3);
    let z4 = i32x4.add(i5, i1);
    const z5 = i32x4.mul(i32x4.add(z3, z4), i32x4.splat(9633));
    const z1 = i32x4.mul(i32x4.add(i7, i1), i32x4.splat(-7373));
    const z2 = i32x4.mul(i32x4.add(i5, i3), i32x4.splat(-20995));
    z3 = i32x4.add(i32x4.mul(z3, i32x4.splat(-16069)), z5);
    z4 = i32x4.add(i32x4.mul(z4, i32x4.splat(-3196)), z5);
    const tmp0 = i32x4.add(i32x4.mul(i7, i32x4.splat(2446)), i32x4.add(z1, z3));
    const tmp1 = i32x4.add(i32x4.mul(i5, i32x4.splat(16819)), i32x4.add(z2, z4));
    const tmp2 = i32x4.add(i32x4.mul(i3, i32x4.splat(25172)), i32x4.add(z2, z3));
    const tmp3 = i32x4.add(i32x4.mul(i1, i32x4.splat(12299)), i32x4.add(z1, z4));
    const half = i32x4.splat(1 << (CONST_BITS - PASS1_BITS - 1));
    const w = ws + h;
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.add(tmp10, tmp3), half), CONST_BITS - PASS1_BITS));
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.sub(tmp10, tmp3), half), CONST_BITS - PASS1_BITS), 224);
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.add(tmp11, tmp2), half), CONST_BITS - PASS1_BITS), 32);
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.sub(tmp11, tmp2), half), CONST_BITS - PASS1_BITS), 192);
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.add(tmp12, tmp1), half), CONST_BITS - PASS1_BITS), 64);
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.sub(tmp12, tmp1), half), CONST_BITS - PASS1_BITS), 160);
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.add(tmp13, tmp0), half), CONST_BITS - PASS1_BITS), 96);
    v128.store(w, i32x4.shr_s(i32x4.add(i32x4.sub(tmp13, tmp0), half), CONST_BITS - PASS1_BITS), 128);
  }
  // Pass 2: rows, descaled by 2^(CONST_BITS + PASS1_BITS + 3), range-limited to bytes.
  // Only the rows the caller needs (`need`: one flag byte per row of this block).
  for (let r = 0; r < 8; r++, out += stride) {
    if (load<u8>(need + r) == 0) continue;
    const w = ws + (r << 5);
    const w0 = load<i32>(w);
    const w1 = load<i32>(w, 4);
    const w2 = load<i32>(w, 8);
    const w3 = load<i32>(w, 12);
    const w4 = load<i32>(w, 16);
    const w5 = load<i32>(w, 20);
    const w6 = load<i32>(w, 24);
    const w7 = load<i32>(w, 28);
    if ((w1 | w2 | w3 | w4 | w5 | w6 | w7) == 0) {
      const v = load<u8>(rl + (((w0 + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023));
      for (let j = 0; j < 8; j++) store<u8>(out + j, v);
      continue;
    }
    let z1 = (w2 + w6) * 4433;
    let tmp2 = z1 + w6 * -15137;
    let tmp3 = z1 + w2 * 6270;
    let tmp0 = (w0 + w4) << CONST_BITS;
    let tmp1 = (w0 - w4) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    z1 = w7 + w1;
    let z2 = w5 + w3;
    let z3 = w7 + w3;
    let z4 = w5 + w1;
    const z5 = (z3 + z4) * 9633;
    tmp0 = w7 * 2446;
    tmp1 = w5 * 16819;
    tmp2 = w3 * 25172;
    tmp3 = w1 * 12299;
    z1 *= -7373;
    z2 *= -20995;
    z3 = z3 * -16069 + z5;
    z4 = z4 * -3196 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const sh = CONST_BITS + PASS1_BITS + 3;
    const half = 1 << (sh - 1);
    store<u8>(out, load<u8>(rl + (((tmp10 + tmp3 + half) >> sh) & 1023)));
    store<u8>(out + 7, load<u8>(rl + (((tmp10 - tmp3 + half) >> sh) & 1023)));
    store<u8>(out + 1, load<u8>(rl + (((tmp11 + tmp2 + half) >> sh) & 1023)));
    store<u8>(out + 6, load<u8>(rl + (((tmp11 - tmp2 + half) >> sh) & 1023)));
    store<u8>(out + 2, load<u8>(rl + (((tmp12 + tmp1 + half) >> sh) & 1023)));
    store<u8>(out + 5, load<u8>(rl + (((tmp12 - tmp1 + half) >> sh) & 1023)));
    store<u8>(out + 3, load<u8>(rl + (((tmp13 + tmp0 + half) >> sh) & 1023)));
    store<u8>(out + 4, load<u8>(rl + (((tmp13 - tmp0 + half) >> sh) & 1023)));
  }
}

/**
 * Full-size 4:2:0 planes to RGB at the pixels (xs[x], ys[y]) (a PIL NEAREST resize, or the
 * identity): luma at `y` (stride ys_), chroma at `cb`, `cr` (stride cs, cw x ch samples)
 * upsampled as libjpeg does, then the JFIF conversion of toRgb. Only output pixels are computed.
 */
export function toRgbFancy420(y: i32, ystride: i32, cb: i32, cr: i32, cs: i32, cw: i32, ch: i32, xs: i32, ys: i32, W: i32, H: i32, out: i32): void {
  // libjpeg's "fancy" 2x2 upsampling is a triangle filter: 3/4 of the nearer chroma sample
  // and 1/4 of the next one, vertically (rows r and nb) then horizontally (columns c and cn),
  // rounding +8 for even and +7 for odd output columns; at the edges the neighbour is the
  // sample itself, which turns the formula into libjpeg's edge case (4 * sum + rounding).
  let o = out;
  for (let yy = 0; yy < H; yy++) {
    const Y = load<i32>(ys + (yy << 2));
    const r = Y >> 1;
    const nb = (Y & 1) == 0 ? select<i32>(r - 1, 0, r > 0) : select<i32>(r + 1, ch - 1, r + 1 < ch);
    const rowY = y + Y * ystride;
    const b0 = cb + r * cs;
    const b1 = cb + nb * cs;
    const r0 = cr + r * cs;
    const r1 = cr + nb * cs;
    for (let x = 0; x < W; x++, o += 3) {
      const X = load<i32>(xs + (x << 2));
      const c = X >> 1;
      const odd = X & 1;
      const cn = odd ? select<i32>(c + 1, cw - 1, c + 1 < cw) : select<i32>(c - 1, 0, c > 0);
      const rnd = 8 - odd;
      const cbv = ((3 * (3 * <i32>load<u8>(b0 + c) + <i32>load<u8>(b1 + c)) + 3 * <i32>load<u8>(b0 + cn) + <i32>load<u8>(b1 + cn) + rnd) >> 4) - 128;
      const crv = ((3 * (3 * <i32>load<u8>(r0 + c) + <i32>load<u8>(r1 + c)) + 3 * <i32>load<u8>(r0 + cn) + <i32>load<u8>(r1 + cn) + rnd) >> 4) - 128;
      const L = (<i32>load<u8>(rowY + X) << 16) + 32768;
      store<u8>(o, clamp255((L + 91881 * crv) >> 16));
      store<u8>(o + 1, clamp255((L - 22554 * cbv - 46802 * crv) >> 16));
      store<u8>(o + 2, clamp255((L + 116130 * cbv) >> 16));
    }
  }
}
