/**
 * The scaled JPEG decoder of `decode: fast` (src/data/jpeg): sizes, accuracy against sharp's
 * full-size decode box-filtered, restart markers and non-interleaved scans (JPEGs written by a
 * tiny encoder in this file, because sharp cannot write them), the cases it hands to sharp,
 * and the worker pool inside the preprocess stage.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImageBuffer } from '../src/data/decode.ts';
import { readNpy } from '../src/data/npy.ts';
import { runPreprocess } from '../src/data/preprocess.ts';
import { resizeInto, resizeNearestInto } from '../src/data/resize.ts';
import { buildFastAc, buildHuffmanTable } from '../src/data/jpeg/huffman.ts';
import { decodeJpegExactNearestInto, decodeJpegNearestInto, decodeJpegScaled, JpegFallback, jpegScaleFor } from '../src/data/jpeg/decode-scaled.ts';

const tmp = (p: string): string => mkdtempSync(join(tmpdir(), p));

/** A seeded textured colour image: gradients plus noise, so blocks carry many AC coefficients. */
function texture(w: number, h: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  let s = seed >>> 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const n = (s >>> 24) % 40;
      const o = (y * w + x) * 3;
      b[o] = Math.min(255, (x * 255) / w + n);
      b[o + 1] = Math.min(255, (y * 255) / h + n / 2);
      b[o + 2] = Math.min(255, 128 + 100 * Math.sin(x / 7 + y / 11) + n / 4);
    }
  }
  return b;
}

/** Mean absolute and max difference of `img` against the s x s box means of `full` (full cells only). */
function againstBoxMeans(img: { data: Uint8Array; width: number; height: number }, full: Buffer, fw: number, fh: number, s: number): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  let n = 0;
  for (let y = 0; y < Math.floor(fh / s); y++) {
    for (let x = 0; x < Math.floor(fw / s); x++) {
      for (let c = 0; c < 3; c++) {
        let a = 0;
        for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) a += full[((y * s + dy) * fw + x * s + dx) * 3 + c]!;
        const d = Math.abs(a / (s * s) - img.data[(y * img.width + x) * 3 + c]!);
        sum += d;
        max = Math.max(max, d);
        n++;
      }
    }
  }
  return { mean: sum / n, max };
}

test('jpegScaleFor picks the smallest decode that still covers the target (Pillow draft rule)', () => {
  assert.equal(jpegScaleFor(1024, 1024, 224, 224), 4);
  assert.equal(jpegScaleFor(2048, 1536, 224, 224), 4);
  assert.equal(jpegScaleFor(2048, 2048, 224, 224), 8);
  assert.equal(jpegScaleFor(448, 448, 224, 224), 2);
  assert.equal(jpegScaleFor(447, 600, 224, 224), 2, 'ceil(447/2) = 224 still covers 224');
  assert.equal(jpegScaleFor(446, 600, 224, 224), 1);
  assert.equal(jpegScaleFor(203, 150, 50, 37), 4, 'ceil(203/4) = 51 >= 50, ceil(150/4) = 38 >= 37');
});

test('scaled decode = the full decode box-filtered: 4:4:4, 4:2:0 and grey, sizes not multiples of 16', async () => {
  const w = 203;
  const h = 150;
  const raw = { raw: { width: w, height: h, channels: 3 as const } };
  const px = texture(w, h, 7);
  const cases: Array<[string, Buffer, number]> = [
    ['4:4:4', await sharp(px, raw).jpeg({ quality: 92, chromaSubsampling: '4:4:4' }).toBuffer(), 1.0],
    // sharp's full decode upsamples chroma with libjpeg's triangle filter, we with boxes: looser.
    ['4:2:0', await sharp(px, raw).jpeg({ quality: 92, chromaSubsampling: '4:2:0' }).toBuffer(), 2.5],
    ['grey', await sharp(px, raw).toColourspace('b-w').jpeg({ quality: 92 }).toBuffer(), 1.0],
  ];
  for (const [name, jpg, tol] of cases) {
    const { data: full, info } = await sharp(jpg).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    for (const [minW, minH, s] of [
      [50, 37, 4],
      [100, 75, 2],
      [25, 18, 8],
    ] as const) {
      const img = decodeJpegScaled(jpg, minW, minH);
      assert.equal(img.width, Math.ceil(w / s), `${name} 1/${s} width`);
      assert.equal(img.height, Math.ceil(h / s), `${name} 1/${s} height`);
      const d = againstBoxMeans(img, full, w, h, s);
      assert.ok(d.mean < tol, `${name} at 1/${s}: mean abs difference ${d.mean.toFixed(3)} >= ${tol}`);
      assert.ok(d.max < 16, `${name} at 1/${s}: max difference ${d.max.toFixed(2)}`);
    }
  }
});

test('decodeJpegNearestInto equals the scaled decode followed by Pillow NEAREST', async () => {
  const jpg = await sharp(texture(300, 220, 3), { raw: { width: 300, height: 220, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
  const out = new Uint8Array(5 + 64 * 48 * 3);
  decodeJpegNearestInto(jpg, 64, 48, out, 5);
  const ref = new Uint8Array(64 * 48 * 3);
  resizeNearestInto(decodeJpegScaled(jpg, 64, 48), 48, 64, ref, 0);
  assert.deepEqual(out.subarray(5), ref);
  assert.equal(out[0], 0, 'bytes before the offset untouched');
});

/** sharp's full decode (libjpeg: what exact mode used before) NEAREST-resized to ow x oh. */
async function sharpNearest(jpg: Buffer, ow: number, oh: number): Promise<Uint8Array> {
  const { data, info } = await sharp(jpg).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const ref = new Uint8Array(ow * oh * 3);
  resizeNearestInto({ data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 }, oh, ow, ref, 0);
  return ref;
}

/** JPEGs of several layouts and odd sizes for the exact decoder. */
async function exactCases(): Promise<Array<[string, Buffer, number, number]>> {
  const cases: Array<[string, Buffer, number, number]> = [];
  for (const [w, h] of [
    [203, 150],
    [17, 33],
    [256, 96],
  ] as const) {
    const px = texture(w, h, w * 7 + h);
    const raw = { raw: { width: w, height: h, channels: 3 as const } };
    cases.push([`${w}x${h} 4:2:0`, await sharp(px, raw).jpeg({ quality: 90 }).toBuffer(), w, h]);
    cases.push([`${w}x${h} 4:4:4`, await sharp(px, raw).jpeg({ quality: 75, chromaSubsampling: '4:4:4' }).toBuffer(), w, h]);
    cases.push([`${w}x${h} grey`, await sharp(px, raw).toColourspace('b-w').jpeg({ quality: 95 }).toBuffer(), w, h]);
  }
  return cases;
}

test('exact: the full-size decode is bit-identical to libjpeg (sharp) for 4:2:0, 4:4:4 and grey, at full size and NEAREST-resized', async () => {
  for (const [name, jpg, w, h] of await exactCases()) {
    for (const [ow, oh] of [
      [w, h],
      [Math.max(1, w >> 2), Math.max(1, Math.floor((h * 2) / 9))],
      [w + 5, h - 3],
    ] as const) {
      const out = new Uint8Array(ow * oh * 3 + 3);
      decodeJpegExactNearestInto(jpg, ow, oh, out, 3);
      assert.ok(Buffer.from(out.subarray(3)).equals(await sharpNearest(jpg, ow, oh)), `${name} -> ${ow}x${oh} differs from libjpeg + NEAREST`);
    }
  }
});

test('exact: the same bytes as Pillow open / convert(RGB) / resize(NEAREST) (skips without Pillow)', async (t) => {
  const py = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0);
  if (!py) {
    t.skip('no python with PIL');
    return;
  }
  const dir = tmp('jpeg-pil-');
  for (const [name, jpg, w, h] of await exactCases()) {
    const file = join(dir, `${name.replace(/[^a-z0-9]/gi, '_')}.jpg`);
    writeFileSync(file, jpg);
    const [ow, oh] = [Math.max(1, Math.floor(w / 3)), Math.max(1, Math.floor(h / 2))];
    const pil = spawnSync(py, ['-c', `import sys\nfrom PIL import Image\nsys.stdout.buffer.write(Image.open(sys.argv[1]).convert('RGB').resize((${ow}, ${oh}), Image.NEAREST).tobytes())`, file], { maxBuffer: 1 << 24 }).stdout;
    const out = new Uint8Array(ow * oh * 3);
    decodeJpegExactNearestInto(jpg, ow, oh, out, 0);
    assert.ok(Buffer.from(out).equals(pil), `${name} -> ${ow}x${oh} differs from Pillow`);
  }
});

test('embedded ICC profiles are ignored, as PIL does: our decoder and the sharp path give the stored pixels', async () => {
  const px = texture(64, 48, 9);
  const raw = { raw: { width: 64, height: 48, channels: 3 as const } };
  const jpg = await sharp(px, raw).withIccProfile('p3').jpeg({ quality: 90 }).toBuffer();
  assert.ok((await sharp(jpg).metadata()).icc, 'the file carries a profile');
  const ours = new Uint8Array(64 * 48 * 3);
  decodeJpegExactNearestInto(jpg, 64, 48, ours, 0);
  const viaSharp = await decodeImageBuffer(jpg, 'p3.jpg');
  assert.ok(Buffer.from(ours).equals(Buffer.from(viaSharp.data)), 'sharp path converted through the profile');
  const converted = (await sharp(jpg).toColourspace('srgb').raw().toBuffer()) as Buffer;
  assert.ok(!converted.equals(Buffer.from(ours)), 'the profile would change the pixels (so this test can fail)');
  // A progressive file takes the sharp path in both modes: same stored pixels.
  const prog = await sharp(px, raw).withIccProfile('p3').jpeg({ quality: 90, progressive: true }).toBuffer();
  assert.ok(Buffer.from((await decodeImageBuffer(prog, 'p.jpg')).data).equals(Buffer.from((await sharp(prog, { ignoreIcc: true }).raw().toBuffer()) as Buffer)));
});

test('files outside the decoder scope raise JpegFallback with a reason (sharp takes them)', async () => {
  const raw = { raw: { width: 96, height: 96, channels: 3 as const } };
  const px = texture(96, 96, 5);
  const progressive = await sharp(px, raw).jpeg({ progressive: true }).toBuffer();
  const baseline = await sharp(px, raw).jpeg().toBuffer();
  const fallback = (buf: Uint8Array, w = 24, h = 24): string => {
    try {
      decodeJpegScaled(buf, w, h);
    } catch (e) {
      assert.ok(e instanceof JpegFallback, String(e));
      return e.message;
    }
    assert.fail('expected JpegFallback');
  };
  assert.match(fallback(progressive), /progressive/);
  assert.match(fallback(baseline.subarray(0, Math.floor(baseline.length * 0.6))), /ends early|past the end|no frame/);
  assert.match(fallback(baseline, 60, 60), /no reduction/);
  assert.match(fallback(await sharp(px, raw).png().toBuffer()), /SOI/);
  assert.equal(decodeJpegScaled(baseline, 24, 24).width, 24, 'the same file at a reducible size decodes');
});

test('damaged files never crash the decoder: flipped, dropped and cut bytes give an image of the right size or JpegFallback', async () => {
  const jpg = await sharp(texture(64, 48, 11), { raw: { width: 64, height: 48, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  let s = 12345;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  let decoded = 0;
  let fellBack = 0;
  for (let trial = 0; trial < 300; trial++) {
    const b = Buffer.from(jpg);
    const kind = trial % 3;
    let bad: Buffer = b;
    if (kind === 0) for (let f = 0; f < 1 + rnd(4); f++) b[rnd(b.length)] = rnd(256);
    else if (kind === 1) {
      const at = rnd(b.length);
      bad = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rnd(40)))]);
    } else bad = b.subarray(0, rnd(b.length));
    try {
      const img = decodeJpegScaled(bad, 16, 12);
      assert.equal(img.data.length, img.width * img.height * 3);
      decoded++;
    } catch (e) {
      assert.ok(e instanceof JpegFallback, `trial ${trial}: ${String(e)}`);
      fellBack++;
    }
  }
  assert.ok(decoded > 0 && fellBack > 0, `both outcomes occur (decoded ${decoded}, fell back ${fellBack})`);
});

// ---- A minimal baseline encoder for what sharp cannot write: restart markers, separate scans. ----

/** MSB-first bit writer with JPEG byte stuffing. */
class Bits {
  bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(v: number, len: number): void {
    for (let i = len - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((v >> i) & 1);
      if (++this.n === 8) this.byte();
    }
  }
  /** Pad with 1 bits to a byte boundary (T.81 F.1.2.3). */
  flush(): void {
    while (this.n !== 0) this.put(1, 1);
  }
  private byte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.n = 0;
  }
}

/** One component of a DC-only test JPEG: sampling factors and the quantised DC of block (bx, by). */
interface DcComponent {
  h: number;
  v: number;
  dc: (bx: number, by: number) => number;
}

/**
 * A DC-only baseline JPEG (every block uniform): quant DC step 8, so a block's samples are
 * 128 + dc; a restart marker every `ri` MCUs; one interleaved scan or one scan per component.
 * DC codes: categories 0-11 as 4-bit codes; AC table: one 1-bit code for EOB.
 */
function dcOnlyJpeg(w: number, h: number, comps: DcComponent[], ri: number, separateScans: boolean): Buffer {
  const out: number[] = [0xff, 0xd8];
  const seg = (marker: number, body: number[]): void => {
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  };
  seg(0xdb, [0, 8, ...new Array<number>(63).fill(1)]);
  seg(0xc0, [8, h >> 8, h & 255, w >> 8, w & 255, comps.length, ...comps.flatMap((c, i) => [i + 1, (c.h << 4) | c.v, 0])]);
  const dcCounts = new Array<number>(16).fill(0);
  dcCounts[3] = 12;
  seg(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i)]);
  const acCounts = new Array<number>(16).fill(0);
  acCounts[0] = 1;
  seg(0xc4, [0x10, ...acCounts, 0x00]);
  if (ri > 0) seg(0xdd, [ri >> 8, ri & 255]);
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  // Each MCU as a list of [component, block x, block y], in T.81 order.
  const mcus: Array<Array<[number, number, number]>> = [];
  if (separateScans) {
    // filled per scan below
  } else {
    for (let my = 0; my < Math.ceil(h / (8 * vmax)); my++) {
      for (let mx = 0; mx < Math.ceil(w / (8 * hmax)); mx++) {
        const mcu: Array<[number, number, number]> = [];
        comps.forEach((c, ci) => {
          for (let dy = 0; dy < c.v; dy++) for (let dx = 0; dx < c.h; dx++) mcu.push([ci, mx * c.h + dx, my * c.v + dy]);
        });
        mcus.push(mcu);
      }
    }
  }
  const scans: Array<{ ids: number[]; mcus: Array<Array<[number, number, number]>> }> = separateScans
    ? comps.map((c, ci) => {
        const bw = Math.ceil(Math.ceil((w * c.h) / hmax) / 8);
        const bh = Math.ceil(Math.ceil((h * c.v) / vmax) / 8);
        const list: Array<Array<[number, number, number]>> = [];
        for (let by = 0; by < bh; by++) for (let bx = 0; bx < bw; bx++) list.push([[ci, bx, by]]);
        return { ids: [ci], mcus: list };
      })
    : [{ ids: comps.map((_, ci) => ci), mcus }];
  for (const scan of scans) {
    seg(0xda, [scan.ids.length, ...scan.ids.flatMap((c) => [c + 1, 0x00]), 0, 63, 0]);
    const bits = new Bits();
    const pred = comps.map(() => 0);
    let rst = 0;
    scan.mcus.forEach((mcu, m) => {
      if (ri > 0 && m > 0 && m % ri === 0) {
        bits.flush();
        bits.bytes.push(0xff, 0xd0 + (rst++ % 8));
        pred.fill(0);
      }
      for (const [ci, bx, by] of mcu) {
        const v = comps[ci]!.dc(bx, by);
        const diff = v - pred[ci]!;
        pred[ci] = v;
        const cat = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
        bits.put(cat, 4);
        if (cat > 0) bits.put(diff > 0 ? diff : diff + (1 << cat) - 1, cat);
        bits.put(0, 1); // EOB
      }
    });
    bits.flush();
    out.push(...bits.bytes);
  }
  out.push(0xff, 0xd9);
  return Buffer.from(out);
}

test('restart markers, separate scans, stuffed 0xFF bytes and 4:2:2 / 4:2:0 / 4:4:0 sampling (hand-made JPEGs, checked against sharp)', async () => {
  const w = 40;
  const h = 24;
  // Values chosen so some DC codes produce 0xFF bytes that need stuffing.
  const yDc = (bx: number, by: number): number => (((by * 5 + bx) * 37) % 200) - 100;
  const cbDc = (bx: number, by: number): number => (((by * 5 + bx) * 53) % 120) - 60;
  const crDc = (bx: number, by: number): number => (((by * 3 + bx) * 29) % 100) - 50;
  const layouts: Array<[string, DcComponent[]]> = [
    ['grey', [{ h: 1, v: 1, dc: yDc }]],
    ['4:4:4', [{ h: 1, v: 1, dc: yDc }, { h: 1, v: 1, dc: cbDc }, { h: 1, v: 1, dc: crDc }]],
    ['4:2:2', [{ h: 2, v: 1, dc: yDc }, { h: 1, v: 1, dc: cbDc }, { h: 1, v: 1, dc: crDc }]],
    ['4:4:0', [{ h: 1, v: 2, dc: yDc }, { h: 1, v: 1, dc: cbDc }, { h: 1, v: 1, dc: crDc }]],
    ['4:2:0', [{ h: 2, v: 2, dc: yDc }, { h: 1, v: 1, dc: cbDc }, { h: 1, v: 1, dc: crDc }]],
  ];
  for (const [name, comps] of layouts) {
    for (const [ri, separate] of [
      [2, false],
      [0, true],
      [3, true],
    ] as const) {
      const jpg = dcOnlyJpeg(w, h, comps, ri, separate);
      const what = `${name}, restart ${ri}, ${separate ? 'one scan per component' : 'interleaved'}`;
      const { data: full } = await sharp(jpg).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      for (const s of [2, 4]) {
        const img = decodeJpegScaled(jpg, w / s, h / s);
        assert.equal(img.width, w / s, what);
        assert.equal(img.height, h / s, what);
        if (name === 'grey') {
          // Uniform 8x8 blocks: every cell is exactly 128 + dc.
          for (let y = 0; y < h / s; y++) {
            for (let x = 0; x < w / s; x++) assert.equal(img.data[(y * img.width + x) * 3], 128 + yDc(Math.floor((x * s) / 8), Math.floor((y * s) / 8)), `${what} 1/${s} (${x}, ${y})`);
          }
        }
        // sharp upsamples chroma with a triangle filter (blends neighbours at block edges): loose here,
        const d = againstBoxMeans(img, full, w, h, s);
        assert.ok(d.mean < (name === 'grey' || name === '4:4:4' ? 0.6 : 2.5), `${what} 1/${s}: mean difference to sharp ${d.mean.toFixed(2)}`);
      }
    }
  }
  // The exact (full-size) decoder on the same files, where its layouts allow: identical to sharp.
  for (const [name, comps] of layouts) {
    if (name === '4:2:2' || name === '4:4:0') continue; // exact mode hands these to sharp
    for (const [ri, separate] of [
      [2, false],
      [3, true],
    ] as const) {
      const jpg = dcOnlyJpeg(w, h, comps, ri, separate);
      const out = new Uint8Array(w * h * 3);
      decodeJpegExactNearestInto(jpg, w, h, out, 0);
      assert.ok(Buffer.from(out).equals(await sharpNearest(jpg, w, h)), `exact ${name}, restart ${ri}, separate ${separate}`);
    }
  }
  // A restart marker that is missing is damage: hand the file to sharp.
  const good = dcOnlyJpeg(w, h, [{ h: 1, v: 1, dc: yDc }], 2, false);
  const at = good.indexOf(Buffer.from([0xff, 0xd0]));
  const broken = Buffer.concat([good.subarray(0, at), good.subarray(at + 2)]);
  assert.throws(() => decodeJpegScaled(broken, 10, 6), JpegFallback);
});

test('Huffman tables: canonical codes in the lookup, combined AC entries carry run, value and length', () => {
  // Codes: sym 0x00 '00', 0x01 '01', 0x12 '100', 0x03 '101'.
  const counts = new Uint8Array(16);
  counts[1] = 2;
  counts[2] = 2;
  const t = buildHuffmanTable(counts, Uint8Array.from([0x00, 0x01, 0x12, 0x03]));
  assert.equal(t.lookup[0b000000000], (2 << 8) | 0x00);
  assert.equal(t.lookup[0b011111111], (2 << 8) | 0x01);
  assert.equal(t.lookup[0b100000000], (3 << 8) | 0x12);
  assert.equal(t.lookup[0b101000000], (3 << 8) | 0x03);
  assert.equal(t.lookup[0b110000000], 0, 'no code starts 11');
  const fast = buildFastAc(t);
  // '01' then magnitude bit '0' -> value -1, run 0, 3 bits.
  assert.equal(fast[0b0100000000], (-1 << 9) | (0 << 5) | 3);
  // '100' (run 1, size 2) then '11' -> value 3, 5 bits.
  assert.equal(fast[0b1001100000], (3 << 9) | (1 << 5) | 5);
  // '101' (size 3) then '000' -> value -7, 6 bits.
  assert.equal(fast[0b1010000000], (-7 << 9) | (0 << 5) | 6);
  assert.equal(fast[0b0000000000], 0, 'end of block takes the slow path');
});

test('preprocess decode: fast through the worker pool: same bytes as the in-thread decoder; progressive files go to sharp; a bad file is still named', async () => {
  const root = tmp('jpeg-pool-');
  const n = 70; // above the pool threshold (64)
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const cls = i % 2 ? 'b' : 'a';
    mkdirSync(join(root, cls), { recursive: true });
    const f = join(root, cls, `img-${String(i).padStart(3, '0')}.jpg`);
    await sharp(texture(64, 48, i + 1), { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg({ quality: 80, progressive: i === 5 })
      .toFile(f);
    files.push(f);
  }
  const env = (outDir: string) => ({ outDir, dataset: 't', progress: () => {}, log: () => {}, warn: () => {} });
  const out = tmp('jpeg-pool-out-');
  const m = await runPreprocess({ adapter: 'folder', root, size: [12, 16], folds: 2, decode: 'fast' }, env(out));
  assert.equal(m.count, n);
  const imgs = readNpy(join(out, 'images.npy'));
  assert.deepEqual(imgs.shape, [n, 12, 16, 3]);
  const frame = 12 * 16 * 3;
  const data = imgs.data as Uint8Array;
  // Rows are sorted by class then name: a/ (even i) then b/ (odd i).
  const order = [...files].sort();
  order.forEach((f, row) => {
    const got = data.subarray(row * frame, (row + 1) * frame);
    if (f.endsWith('img-005.jpg')) {
      assert.ok(got.some((v) => v !== 0), 'the progressive file was decoded (by sharp)');
      return;
    }
    const want = new Uint8Array(frame);
    decodeJpegNearestInto(readFileSync(f), 16, 12, want, 0);
    assert.deepEqual(got, want, `${f}: pool bytes differ from the in-thread decoder`);
  });
  // decode: exact with nearest goes through the pool too: libjpeg's bytes exactly.
  const outE = tmp('jpeg-pool-exact-');
  await runPreprocess({ adapter: 'folder', root, size: [12, 16], folds: 2 }, env(outE));
  const ex = readNpy(join(outE, 'images.npy')).data as Uint8Array;
  for (const [row, f] of order.entries()) {
    assert.ok(Buffer.from(ex.subarray(row * frame, (row + 1) * frame)).equals(await sharpNearest(readFileSync(f), 16, 12)), `${f}: exact pool bytes differ from libjpeg + NEAREST`);
  }
  // Other resize methods: the pool hands back the scaled image and the stage resizes it.
  const outB = tmp('jpeg-pool-bilinear-');
  await runPreprocess({ adapter: 'folder', root, size: [12, 16], folds: 2, decode: 'fast', resize: 'bilinear' }, env(outB));
  const bil = readNpy(join(outB, 'images.npy')).data as Uint8Array;
  const row0 = new Uint8Array(frame);
  await resizeInto(decodeJpegScaled(readFileSync(order[0]!), 16, 12), 12, 16, 'bilinear', row0, 0);
  assert.deepEqual(bil.subarray(0, frame), row0, 'bilinear through the pool = scaled decode + resizeInto');
  writeFileSync(join(root, 'a', 'zz-broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]));
  await assert.rejects(runPreprocess({ adapter: 'folder', root, size: 16, folds: 2, decode: 'fast' }, env(tmp('jpeg-pool-bad-'))), (e: Error) => {
    assert.match(e.message, /zz-broken\.jpg/);
    return true;
  });
});
