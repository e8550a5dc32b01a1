import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import stage from '../stages/preprocess.ts';
import type { StageContext } from '../src/core/contract.ts';
import { readNpy } from '../src/data/npy.ts';
import { decodeImageFile } from '../src/data/decode.ts';
import { encodeBmp24 } from '../src/data/bmp.ts';
import { pilNearestIndex, resizeNearestInto } from '../src/data/resize.ts';
import { execFileSync } from 'node:child_process';
import { matchBySuffix, type LocalFile } from '../src/data/dataset-folds.ts';

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function ctx(params: Record<string, unknown>, warnings: string[] = []): StageContext {
  const outDir = tmp('pp-out-');
  return {
    id: 'preprocess[dataset=t]',
    stage: 'preprocess',
    kind: 'preprocess',
    axes: { dataset: 't' },
    params,
    inputs: [],
    outDir,
    workDir: outDir,
    seed: 0,
    device: { type: 'cpu' },
    cpus: 2,
    pipelineDir: outDir,
    progress: () => {},
    log: () => {},
    warn: (m) => warnings.push(m),
    signal: new AbortController().signal,
  };
}

async function solid(file: string, w: number, h: number, rgb: [number, number, number], fmt: 'png' | 'jpeg' = 'png'): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  await (fmt === 'png' ? img.png() : img.jpeg()).toFile(file);
}

/** A folder data set: two classes, `per` images each, small PNGs of distinct colours. */
async function folderSet(per = 2): Promise<string> {
  const root = tmp('pp-folder-');
  for (let i = 0; i < per; i++) {
    await solid(join(root, 'a', `a${i}.png`), 12, 10, [200, 10 * i, 0]);
    await solid(join(root, 'b', `b${i}.png`), 10, 12, [0, 10 * i, 200]);
  }
  return root;
}

async function stageError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    assert.equal((e as Error).name, 'StageError', `expected a StageError, got ${String(e)}`);
    return { code: String((e as { code?: unknown }).code), message: (e as Error).message };
  }
  assert.fail('expected a StageError');
}

test('nearest indices reproduce Pillow, including its rounding at exact ties', () => {
  // Pillow 9.4 `Image.resize((224, h), NEAREST)` from 1024 columns reads these source columns;
  // the closed formula floor((i + .5) * 1024 / 224) says 16, 48, 368 at i = 3, 10, 80.
  const idx = pilNearestIndex(1024, 224);
  assert.deepEqual([...idx.subarray(0, 12)], [2, 6, 11, 15, 20, 25, 29, 34, 38, 43, 47, 52]);
  assert.equal(idx[80], 367);
  assert.equal(idx[223], 1021);
  assert.deepEqual([...pilNearestIndex(3, 7)], [0, 0, 1, 1, 1, 2, 2]);
});

/** A python with Pillow, or undefined (the cross-check then skips). */
function pythonWithPil(): string | undefined {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3']) {
    if (!py) continue;
    try {
      execFileSync(py, ['-c', 'import PIL'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

test('nearest resize equals Pillow resize(NEAREST) pixel for pixel (skips without Pillow)', async (t) => {
  const py = pythonWithPil();
  if (!py) {
    t.skip('no python with PIL');
    return;
  }
  const dir = tmp('pp-pil-');
  const combos = [[1024, 768, 224, 224], [640, 480, 112, 112], [97, 33, 96, 96], [50, 40, 13, 29]] as const;
  for (const [w, h, ow, oh] of combos) {
    const raw = Buffer.alloc(w * h * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (Math.imul(i, 2654435761) >>> 13) & 255;
    const file = join(dir, `${w}x${h}.png`);
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
    const pil = execFileSync(py, ['-c', `import sys\nfrom PIL import Image\nsys.stdout.buffer.write(Image.open(sys.argv[1]).convert('RGB').resize((${ow}, ${oh}), Image.NEAREST).tobytes())`, file], { maxBuffer: 1 << 24 });
    const ours = new Uint8Array(ow * oh * 3);
    resizeNearestInto(await decodeImageFile(file), oh, ow, ours, 0);
    assert.ok(Buffer.from(ours).equals(pil), `${w}x${h} -> ${ow}x${oh} differs from Pillow`);
  }
});

test('nearest resize follows PIL pixel-centre sampling', () => {
  const w = 7;
  const h = 3;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.fill(i, i * 3, i * 3 + 3);
  const out = new Uint8Array(3 * 2 * 3);
  resizeNearestInto({ data, width: w, height: h, channels: 3 }, 2, 3, out, 0);
  // x: floor((i + .5) * 7 / 3) = 1, 3, 5; y: floor((j + .5) * 3 / 2) = 0, 2
  assert.deepEqual([...out].filter((_, i) => i % 3 === 0), [1, 3, 5, 15, 17, 19]);
});

test('resize keeps the full frame: a 40x20 image with a red left half stays red on the left at 8x8', async () => {
  const root = tmp('pp-frame-');
  for (const [cls, n] of [['a', 2], ['b', 2]] as const) {
    for (let i = 0; i < n; i++) {
      const raw = Buffer.alloc(40 * 20 * 3);
      for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
      mkdirSync(join(root, cls), { recursive: true });
      await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).png().toFile(join(root, cls, `${i}.png`));
    }
  }
  for (const resize of ['nearest', 'bilinear', 'lanczos']) {
    const c = ctx({ adapter: 'folder', root, size: 8, folds: 2, resize });
    await stage.run(c);
    const imgs = readNpy(join(c.outDir, 'images.npy'));
    assert.deepEqual(imgs.shape, [4, 8, 8, 3]);
    assert.equal(imgs.dtype, '|u1');
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const o = (y * 8 + x) * 3;
        const px = [...imgs.data.subarray(o, o + 3)].map(Number);
        // Lanczos rings by a level or two near the edge; the halves must still be intact.
        const red = px[0]! >= 250 && px[1]! <= 3 && px[2]! <= 5;
        const blue = px[0]! <= 5 && px[1]! <= 3 && px[2]! >= 250;
        if (x < 3) assert.ok(red, `${resize} (${x},${y}) ${px}`);
        if (x > 4) assert.ok(blue, `${resize} (${x},${y}) ${px}`);
        if (resize === 'nearest') assert.deepEqual(px, x < 4 ? [255, 0, 0] : [0, 0, 255]);
      }
    }
  }
});

test('preprocess writes the PIPELINE.md artifacts, and identical bytes on a second run', async () => {
  const root = await folderSet(3);
  const a = ctx({ adapter: 'folder', root, size: [6, 5], folds: 3 });
  const b = ctx({ adapter: 'folder', root, size: [6, 5], folds: 3 });
  await stage.run(a);
  await stage.run(b);
  const files = readdirSync(a.outDir).sort();
  assert.deepEqual(files, ['folds.npy', 'groups.npy', 'images.npy', 'index.csv', 'labels.npy', 'manifest.json', 'thumbnails.png']);
  for (const f of files) assert.ok(readFileSync(join(a.outDir, f)).equals(readFileSync(join(b.outDir, f))), `${f} differs between runs`);
  assert.deepEqual(readNpy(join(a.outDir, 'images.npy')).shape, [6, 6, 5, 3]);
  assert.deepEqual([...readNpy(join(a.outDir, 'labels.npy')).data], [0, 0, 0, 1, 1, 1]);
  assert.deepEqual([...readNpy(join(a.outDir, 'groups.npy')).data], [-1, -1, -1, -1, -1, -1]);
  const folds = [...readNpy(join(a.outDir, 'folds.npy')).data].map(Number);
  assert.deepEqual([...new Set(folds)].sort(), [1, 2, 3]);
  const m = JSON.parse(readFileSync(join(a.outDir, 'manifest.json'), 'utf8'));
  assert.deepEqual(m.classes, ['a', 'b']);
  assert.deepEqual(m.perClass, { a: 3, b: 3 });
  assert.deepEqual(m.size, [6, 5]);
  assert.equal(m.count, 6);
  assert.deepEqual(m.foldCounts, [2, 2, 2]);
  assert.equal(m.groups, null);
  const csv = readFileSync(join(a.outDir, 'index.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'row,path,class,label,group,fold');
  assert.equal(csv[1], `0,a/a0.png,a,0,,${folds[0]}`);
  const first = readNpy(join(a.outDir, 'images.npy')).data;
  assert.deepEqual([...first.subarray(0, 3)], [200, 0, 0]);
});

test('grouped data sets keep a patient inside one fold', async () => {
  const c = ctx({ adapter: 'synthetic', family: 'blobs', classes: 2, count: 40, per_patient: 4, size: 8, folds: 5 });
  await stage.run(c);
  const folds = readNpy(join(c.outDir, 'folds.npy')).data;
  const groups = readNpy(join(c.outDir, 'groups.npy')).data;
  const foldOf = new Map<number, number>();
  for (let i = 0; i < folds.length; i++) {
    const g = Number(groups[i]);
    assert.ok(g >= 0);
    if (foldOf.has(g)) assert.equal(foldOf.get(g), Number(folds[i]));
    foldOf.set(g, Number(folds[i]));
  }
  assert.equal(foldOf.size, 10);
});

test('16-bit PNG is scaled to 8 bits and grey is replicated; BMP 24-bit, 32-bit and 8-bit paletted decode', async () => {
  const dir = tmp('pp-decode-');
  const u16 = new Uint16Array([0, 256, 32768, 65535]);
  await sharp(u16, { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('grey16').png().toFile(join(dir, 'g16.png'));
  assert.equal((await sharp(join(dir, 'g16.png')).metadata()).depth, 'ushort');
  const g = await decodeImageFile(join(dir, 'g16.png'));
  assert.equal(g.channels, 3);
  assert.deepEqual([...g.data], [0, 0, 0, 1, 1, 1, 128, 128, 128, 255, 255, 255]);

  const rgb = { data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]), width: 3, height: 2, channels: 3 as const };
  writeFileSync(join(dir, 'a.bmp'), encodeBmp24(rgb));
  assert.deepEqual([...(await decodeImageFile(join(dir, 'a.bmp'))).data], [...rgb.data]);

  // 32-bit BI_RGB, top-down (negative height), BGRA.
  const b32 = Buffer.alloc(54 + 8);
  b32.write('BM', 0, 'latin1');
  b32.writeUInt32LE(b32.length, 2);
  b32.writeUInt32LE(54, 10);
  b32.writeUInt32LE(40, 14);
  b32.writeInt32LE(1, 18);
  b32.writeInt32LE(-2, 22);
  b32.writeUInt16LE(1, 26);
  b32.writeUInt16LE(32, 28);
  b32.set([3, 2, 1, 255, 30, 20, 10, 0], 54);
  writeFileSync(join(dir, 'b.bmp'), b32);
  assert.deepEqual([...(await decodeImageFile(join(dir, 'b.bmp'))).data], [1, 2, 3, 10, 20, 30]);

  // 8-bit paletted, 3x1 bottom-up, 2-colour palette, rows padded to 4 bytes.
  const p8 = Buffer.alloc(54 + 8 + 4);
  p8.write('BM', 0, 'latin1');
  p8.writeUInt32LE(p8.length, 2);
  p8.writeUInt32LE(62, 10);
  p8.writeUInt32LE(40, 14);
  p8.writeInt32LE(3, 18);
  p8.writeInt32LE(1, 22);
  p8.writeUInt16LE(1, 26);
  p8.writeUInt16LE(8, 28);
  p8.writeUInt32LE(2, 46);
  p8.set([0, 0, 0, 0, 200, 100, 50, 0], 54); // palette BGRA: black, (50,100,200)
  p8.set([1, 0, 1, 0], 62);
  writeFileSync(join(dir, 'c.bmp'), p8);
  assert.deepEqual([...(await decodeImageFile(join(dir, 'c.bmp'))).data], [50, 100, 200, 0, 0, 0, 50, 100, 200]);
});

test('a corrupt image stops the stage naming the file; on_bad_image: skip lists it in the manifest', async () => {
  const root = await folderSet(3);
  writeFileSync(join(root, 'b', 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not a png'));
  const e = await stageError(stage.run(ctx({ adapter: 'folder', root, size: 4, folds: 2 })));
  assert.equal(e.code, 'DATA_BAD_IMAGE');
  assert.match(e.message, /broken\.png/);
  const warnings: string[] = [];
  const c = ctx({ adapter: 'folder', root, size: 4, folds: 2, on_bad_image: 'skip' }, warnings);
  await stage.run(c);
  const m = JSON.parse(readFileSync(join(c.outDir, 'manifest.json'), 'utf8'));
  assert.equal(m.count, 6);
  assert.equal(m.skipped.length, 1);
  assert.equal(m.skipped[0].path, 'b/broken.png');
  assert.match(m.skipped[0].reason, /^b\/broken\.png: unreadable image/, 'manifest messages are relative to root');
  assert.ok(warnings.some((w) => w.includes('broken.png')));
  assert.deepEqual(readNpy(join(c.outDir, 'images.npy')).shape, [6, 4, 4, 3]);
});

test('bad inputs are StageErrors that say what was expected', async () => {
  const missing = await stageError(stage.run(ctx({ adapter: 'chest', root: '/nonexistent/chest_xray', size: 4 })));
  assert.equal(missing.code, 'DATA_MISSING_DIR');
  assert.match(missing.message, /\/nonexistent\/chest_xray/);

  const root = await folderSet(2);
  writeFileSync(join(root, 'labels.csv'), 'path,label\na/a0.png,a\n');
  const col = await stageError(stage.run(ctx({ adapter: 'csv', root, size: 4 })));
  assert.equal(col.code, 'DATA_MISSING_COLUMN');
  assert.match(col.message, /labels\.csv: missing column 'class'/);

  const unknown = await stageError(stage.run(ctx({ adapter: 'folder', root, size: 4, folds: 2, class_names: ['a', 'c'] })));
  assert.equal(unknown.code, 'DATA_UNKNOWN_LABEL');
  assert.match(unknown.message, /b0\.png.*'b'/);

  mkdirSync(join(root, 'empty'));
  const empty = await stageError(stage.run(ctx({ adapter: 'folder', root, size: 4, folds: 2 })));
  assert.equal(empty.code, 'DATA_EMPTY_CLASS');
  assert.match(empty.message, /empty/);

  // Fold 2 of the split files holds only class a.
  const root2 = await folderSet(2);
  const splits = tmp('pp-splits-');
  writeFileSync(join(splits, 'val_fold1.csv'), ',pid,path,class\n0,1,../../../data/x/a/a0.png,a\n1,2,../../../data/x/b/b0.png,b\n2,2,../../../data/x/b/b1.png,b\n');
  writeFileSync(join(splits, 'val_fold2.csv'), ',pid,path,class\n3,3,../../../data/x/a/a1.png,a\n');
  const one = await stageError(stage.run(ctx({ adapter: 'folder', root: root2, size: 4, folds: 2, splits })));
  assert.equal(one.code, 'DATA_FOLD_ONE_CLASS');
  assert.match(one.message, /fold 2 of 2 holds only class 'a'/);
});

test('folds from the paper repository CSVs: suffix matching, unmatched rows and class disagreement reported', async () => {
  const root = await folderSet(3);
  const splits = tmp('pp-splits-');
  const head = ',pid,path,class\n';
  writeFileSync(join(splits, 'val_fold1.csv'), head + '0,1,../../../data/set/a/a0.png,a\n1,2,../../../data/set/b/b0.png,b\n2,9,../../../data/set/b/gone.png,b\n');
  writeFileSync(join(splits, 'val_fold2.csv'), head + '3,3,../../../data/set/a/a1.png,a\n4,4,../../../data/set/b/b1.png,a\n');
  writeFileSync(join(splits, 'test_fold2.csv'), head + '5,5,../../../data/set/a/a2.png,a\n6,6,../../../data/set/b/b2.png,b\n');
  const warnings: string[] = [];
  const c = ctx({ adapter: 'folder', root, size: 4, folds: 2, splits }, warnings);
  await stage.run(c);
  const csv = readFileSync(join(c.outDir, 'index.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const fold = Object.fromEntries(csv.map((r) => [r[1], r[5]]));
  assert.deepEqual(fold, { 'a/a0.png': '1', 'b/b0.png': '1', 'a/a1.png': '2', 'b/b1.png': '2', 'a/a2.png': '2', 'b/b2.png': '2' });
  assert.ok(warnings.some((w) => w.startsWith('1 split row(s) match no local file') && w.includes('gone.png')));
  assert.ok(warnings.some((w) => w.includes('carry a class other') && w.includes('b1.png')));
  const m = JSON.parse(readFileSync(join(c.outDir, 'manifest.json'), 'utf8'));
  assert.equal(m.foldSource, 'splits');
  assert.deepEqual(m.foldCounts, [2, 4]);
});

test('suffix matching extends the suffix until one local file is left', () => {
  const files: LocalFile[] = ['/d/x/a/1.png', '/d/y/a/1.png', '/d/x/b/2.png'].map((p) => ({ path: p, comps: p.split('/').filter(Boolean) }));
  const byBase = new Map<string, LocalFile[]>();
  for (const f of files) (byBase.get(f.comps.at(-1)!) ?? byBase.set(f.comps.at(-1)!, []).get(f.comps.at(-1)!)!).push(f);
  assert.equal((matchBySuffix('../../data/b/2.png', byBase) as LocalFile).path, '/d/x/b/2.png');
  assert.equal((matchBySuffix('../y/a/1.png', byBase) as LocalFile).path, '/d/y/a/1.png');
  assert.equal(matchBySuffix('../../a/1.png', byBase), 'ambiguous');
  assert.equal(matchBySuffix('../z/a/1.png', byBase), 'ambiguous');
  assert.equal(matchBySuffix('3.png', byBase), 'none');
});

test('options carry adapter keys per data set and override params; paths are refused there', async () => {
  const c = ctx({ adapter: 'synthetic', size: 8, folds: 2, family: 'blobs', classes: 2, count: 10, options: { family: 'radiology', classes: 3, count: 12 } });
  await stage.run(c);
  const m = JSON.parse(readFileSync(join(c.outDir, 'manifest.json'), 'utf8'));
  assert.equal(m.count, 12);
  assert.deepEqual(m.classes, ['class0', 'class1', 'class2']);
  const e = await stageError(stage.run(ctx({ adapter: 'folder', size: 8, options: { root: '/tmp' } })));
  assert.equal(e.code, 'DATA_BAD_PARAM');
  assert.match(e.message, /options\.root/);
});

test('a truncated image is an error unless allow_truncated (the study loads truncated mammograms)', async () => {
  const root = await folderSet(2);
  const noise = Buffer.alloc(128 * 128 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (Math.imul(i, 2654435761) >>> 11) & 255;
  // Noise makes the entropy-coded scan the bulk of the file, so the cut lands inside it.
  const full = await sharp(noise, { raw: { width: 128, height: 128, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  writeFileSync(join(root, 'a', 'cut.jpg'), full.subarray(0, full.length >> 1));
  const e = await stageError(stage.run(ctx({ adapter: 'folder', root, size: 4, folds: 2 })));
  assert.equal(e.code, 'DATA_BAD_IMAGE');
  assert.match(e.message, /cut\.jpg/);
  const c = ctx({ adapter: 'folder', root, size: 4, folds: 2, allow_truncated: true });
  await stage.run(c);
  assert.equal(JSON.parse(readFileSync(join(c.outDir, 'manifest.json'), 'utf8')).count, 5);
});

/** Mean of a byte range. */
function meanOf(a: Uint8Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

test('decode: fast decodes JPEGs at reduced scale (close to exact in mean, different pixels), records the mode; PNGs stay exact', async () => {
  const root = tmp('pp-fast-');
  const n = 256;
  const grad = Buffer.alloc(n * n * 3);
  const checker = Buffer.alloc(n * n * 3);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const o = (y * n + x) * 3;
      grad[o] = x;
      grad[o + 1] = y;
      grad[o + 2] = (x + y) >> 1;
      checker.fill((x + y) % 2 ? 255 : 0, o, o + 3);
    }
  }
  const raw = { raw: { width: n, height: n, channels: 3 as const } };
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b'), { recursive: true });
  await sharp(grad, raw).jpeg({ quality: 95 }).toFile(join(root, 'a', 'grad.jpg'));
  await sharp(grad, raw).flop().jpeg({ quality: 95 }).toFile(join(root, 'a', 'grad-flop.jpg'));
  await sharp(checker, raw).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toFile(join(root, 'b', 'checker.jpg'));
  await solid(join(root, 'b', 'solid.png'), 40, 30, [10, 120, 230]);
  const ex = ctx({ adapter: 'folder', root, size: 32, folds: 2 });
  const fa = ctx({ adapter: 'folder', root, size: 32, folds: 2, decode: 'fast' });
  await stage.run(ex);
  await stage.run(fa);
  const e = readNpy(join(ex.outDir, 'images.npy'));
  const f = readNpy(join(fa.outDir, 'images.npy'));
  assert.deepEqual(f.shape, [4, 32, 32, 3]);
  assert.deepEqual(f.shape, e.shape);
  assert.deepEqual([...readNpy(join(fa.outDir, 'labels.npy')).data], [0, 0, 1, 1]);
  assert.deepEqual([...readNpy(join(fa.outDir, 'labels.npy')).data], [...readNpy(join(ex.outDir, 'labels.npy')).data]);
  const frame = 32 * 32 * 3;
  const img = (a: { data: unknown }, i: number): Uint8Array => {
    assert.ok(a.data instanceof Uint8Array, 'images.npy is uint8');
    return a.data.subarray(i * frame, (i + 1) * frame);
  };
  // Rows follow index.csv: a/grad-flop.jpg, a/grad.jpg, b/checker.jpg, b/solid.png.
  for (const i of [0, 1]) {
    const ei = img(e, i);
    const fi = img(f, i);
    assert.ok(Math.abs(meanOf(fi) - meanOf(ei)) < 3, `gradient ${i}: fast mean ${meanOf(fi).toFixed(1)} vs exact ${meanOf(ei).toFixed(1)}`);
    let mad = 0;
    for (let k = 0; k < frame; k++) mad += Math.abs(fi[k]! - ei[k]!);
    assert.ok(mad / frame < 8, `gradient ${i}: mean absolute difference ${(mad / frame).toFixed(2)} >= 8`);
  }
  // A 1-pixel checkerboard tells the paths apart: exact nearest samples one parity (black or
  // white everywhere); the DCT-domain downscale averages it to mid grey.
  const ec = meanOf(img(e, 2));
  const fc = meanOf(img(f, 2));
  assert.ok(ec < 40 || ec > 215, `exact checkerboard mean ${ec.toFixed(1)}: expected one parity sampled`);
  assert.ok(Math.abs(fc - 128) < 40, `fast checkerboard mean ${fc.toFixed(1)}: expected an average near 128`);
  assert.ok(img(f, 3).every((v, k) => v === img(e, 3)[k]), 'a PNG decodes the same in both modes');
  const mf = JSON.parse(readFileSync(join(fa.outDir, 'manifest.json'), 'utf8'));
  assert.equal(mf.decode, 'fast');
  const me = JSON.parse(readFileSync(join(ex.outDir, 'manifest.json'), 'utf8'));
  assert.equal(me.decode, undefined, 'exact manifests keep their previous bytes (absent means exact)');
  const bad = await stageError(stage.run(ctx({ adapter: 'folder', root, size: 32, folds: 2, decode: 'quick' })));
  assert.match(bad.message, /decode/);
});
