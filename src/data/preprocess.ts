/**
 * The preprocess pipeline behind `stages/preprocess.ts`: read a download through its adapter,
 * assign folds, decode and resize every image to uint8 RGB, and write the artifacts the
 * training and analysis stages read (PIPELINE.md): images.npy, labels.npy, folds.npy,
 * groups.npy, index.csv, manifest.json, thumbnails.png. Same inputs give identical bytes.
 */
import { open, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { formatCsv } from './csv-text.ts';
import { choiceWithoutReplacement, createRng } from '../stats/rng.ts';
import { getAdapter } from './adapters/index.ts';
import { DECODE_MODES, loadSharp } from './decode.ts';
import { checkFolds, computeFolds, foldsFromSplits } from './dataset-folds.ts';
import { encodeNpy, encodeNpyHeader } from './npy.ts';
import { RESIZE_METHODS } from './resize.ts';
import { decodeImages } from './decode-images.ts';
import type { Manifest, PreprocessEnv, PreprocessParams } from './preprocess-types.ts';
import { byCodePoint, countItems, dataError, examples, type AdapterResult, type DataItem } from './types.ts';

export type { Manifest, PreprocessEnv, PreprocessParams } from './preprocess-types.ts';

/**
 * Fold the `options` object param into the params (options win: declared params already
 * carry their defaults). Paths are refused there because only `path` params are hashed.
 */
export function mergeOptions(params: Record<string, unknown>): PreprocessParams {
  const { options, ...rest } = params;
  if (options === undefined || options === null) return rest as PreprocessParams;
  if (typeof options !== 'object' || Array.isArray(options)) throw dataError('DATA_BAD_PARAM', `options is ${JSON.stringify(options)}, expected an object of adapter options`);
  for (const k of ['root', 'splits', 'adapter']) {
    if (k in options) throw dataError('DATA_BAD_PARAM', `options.${k}: give ${k} as its own param, not inside options`);
  }
  return { ...rest, ...(options as Record<string, unknown>) } as PreprocessParams;
}

/** Parse `size` (N or [H, W]) into [H, W]. */
export function parseSize(size: unknown): [number, number] {
  const pair = Array.isArray(size) ? size : [size, size];
  if (pair.length !== 2 || !pair.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 1 && s <= 8192)) {
    throw dataError('DATA_BAD_PARAM', `size is ${JSON.stringify(size)}, expected an integer (e.g. 224) or [height, width]`);
  }
  return [pair[0] as number, pair[1] as number];
}

/** A seeded subset of `n` items (pandas `sample(n)` in spirit; not numpy's stream), kept in item order. */
export function applySubset(result: AdapterResult, n: number, seed: number): AdapterResult {
  if (!Number.isInteger(n) || n < 1) throw dataError('DATA_BAD_PARAM', `subset is ${n}, expected a positive integer`);
  if (n >= result.items.length) {
    if (n > result.items.length) result.warnings.push(`subset ${n} is larger than the data set (${result.items.length} images); all are used`);
    return result;
  }
  const pick = Array.from(choiceWithoutReplacement(createRng(seed), result.items.length, n)).sort((a, b) => a - b);
  return { ...result, items: pick.map((i) => result.items[i]!) };
}

/**
 * Read a data set through its adapter with the generic options applied (subset, declared
 * class names) and the basic checks (non-empty, no empty class, no unknown label).
 */
export async function readDataset(params: PreprocessParams): Promise<AdapterResult> {
  const adapter = getAdapter(params.adapter);
  if (adapter.needsRoot && (params.root === undefined || params.root === '')) {
    throw dataError('DATA_BAD_PARAM', `adapter '${adapter.name}' needs root: the folder of the download`);
  }
  const { seed: _ignored, ...rest } = params as PreprocessParams & { seed?: unknown };
  const seed = typeof params.synthetic_seed === 'number' ? params.synthetic_seed : 0;
  let result = await adapter.read({ ...rest, seed });
  if (params.subset !== undefined && params.subset !== null) result = applySubset(result, params.subset, params.subset_seed ?? 22);
  if (params.class_names !== undefined) {
    const declared = [...params.class_names].sort(byCodePoint);
    const bad = result.items.filter((it) => !declared.includes(it.className));
    if (bad.length > 0) {
      throw dataError('DATA_UNKNOWN_LABEL', `${bad[0]!.path}: label '${bad[0]!.className}' is not one of class_names (${declared.join(', ')})${bad.length > 1 ? `; ${bad.length} such images` : ''}`);
    }
    result = { ...result, classes: declared };
  }
  const where = params.root ?? params.adapter;
  if (result.items.length === 0) throw dataError('DATA_EMPTY', `${where}: no images found for adapter '${adapter.name}' (see docs/data.md for the expected layout)`);
  const { perClass } = countItems(result);
  for (const it of result.items) {
    if (!(it.className in perClass)) throw dataError('DATA_UNKNOWN_LABEL', `${it.path}: label '${it.className}' is not one of ${result.classes.join(', ')}`);
  }
  const empty = result.classes.filter((c) => perClass[c] === 0);
  if (empty.length > 0) throw dataError('DATA_EMPTY_CLASS', `${where}: class(es) ${empty.join(', ')} hold no image (expected at least one per class among ${result.classes.join(', ')})`);
  return result;
}

/**
 * Folds 1..K of the data set's items: the paper's split CSVs (`splits:`; items they do not list
 * are dropped) or computed (GroupKFold / StratifiedKFold). Warnings go to `env` and `warnings`.
 */
function assignFolds(
  data: AdapterResult,
  params: PreprocessParams,
  K: number,
  env: PreprocessEnv,
  warnings: string[],
): { items: DataItem[]; folds: Int32Array; foldSource: Manifest['foldSource'] } {
  if (params.splits !== undefined && params.splits !== null && params.splits !== '') {
    const s = foldsFromSplits(data.items, params.splits, K);
    for (const w of s.warnings) env.warn(w);
    warnings.push(...s.warnings);
    const keep = data.items.map((_, i) => s.folds[i]! > 0);
    return { items: data.items.filter((_, i) => keep[i]), folds: s.folds.filter((_, i) => keep[i]), foldSource: 'splits' };
  }
  const folds = computeFolds(data.items, K, { grouped: data.grouped, seed: params.fold_seed ?? 2 });
  return { items: data.items, folds, foldSource: data.grouped ? 'group-kfold' : 'stratified-kfold' };
}

/** Run the whole preprocess into env.outDir and return the manifest. */
export async function runPreprocess(params: PreprocessParams, env: PreprocessEnv): Promise<Manifest> {
  const [H, W] = parseSize(params.size ?? 224);
  const K = params.folds ?? 5;
  if (!Number.isInteger(K) || K < 2) throw dataError('DATA_BAD_PARAM', `folds is ${K}, expected an integer >= 2`);
  const method = params.resize ?? 'nearest';
  if (!RESIZE_METHODS.includes(method)) throw dataError('DATA_BAD_PARAM', `resize is '${String(method)}', expected one of ${RESIZE_METHODS.join(', ')}`);
  const onBad = params.on_bad_image ?? 'error';
  const decodeMode = params.decode ?? 'exact';
  if (!DECODE_MODES.includes(decodeMode)) throw dataError('DATA_BAD_PARAM', `decode is '${String(decodeMode)}', expected one of ${DECODE_MODES.join(', ')}`);
  const synthetic = params.adapter === 'synthetic';
  const data = await readDataset(synthetic && params.image_size === undefined ? { ...params, image_size: [H, W] } : params);
  const warnings = [...data.warnings];
  for (const w of warnings) env.warn(w);

  // Folds first, from the item list alone: an unreadable image does not move other images' folds.
  const { items, folds, foldSource } = assignFolds(data, params, K, env, warnings);

  // Decode and resize into one preallocated buffer, a bounded number of images at a time.
  const N = items.length;
  const frame = H * W * 3;
  const { pixels, ok, skipReason } = await decodeImages(items, { H, W, method, decodeMode, onBad, synthetic }, params, env);
  const skipped: Array<{ path: string; reason: string }> = [];

  // Compact out skipped images (in index order, so the output is deterministic).
  const keepIdx: number[] = [];
  for (let i = 0; i < N; i++) {
    if (ok[i]) keepIdx.push(i);
    else skipped.push({ path: displayPath(items[i]!.path, params.root), reason: skipReason.get(i) ?? 'unreadable' });
  }
  if (skipped.length > 0) {
    const msg = `${skipped.length} unreadable image(s) skipped (on_bad_image: skip): ${examples(skipped.map((s) => s.path))}`;
    env.warn(msg);
    warnings.push(msg);
  }
  const n = keepIdx.length;
  if (n === 0) throw dataError('DATA_EMPTY', `${params.root ?? params.adapter}: every image was unreadable`);
  keepIdx.forEach((src, dst) => {
    if (src !== dst) pixels.copyWithin(dst * frame, src * frame, src * frame + frame);
  });
  const kept = keepIdx.map((i) => items[i]!);
  const keptFolds = Int32Array.from(keepIdx, (i) => folds[i]!);
  const classIndex = new Map(data.classes.map((c, i) => [c, i]));
  const labels = Int32Array.from(kept, (it) => classIndex.get(it.className)!);
  const perClass: Record<string, number> = Object.fromEntries(data.classes.map((c) => [c, 0]));
  for (const it of kept) perClass[it.className]!++;
  const emptyNow = data.classes.filter((c) => perClass[c] === 0);
  if (emptyNow.length > 0) throw dataError('DATA_EMPTY_CLASS', `class(es) ${emptyNow.join(', ')} hold no readable image after skipping unreadable files`);
  const foldCounts = checkFolds(labels, keptFolds, K, data.classes);
  const groupNames = data.grouped ? [...new Set(kept.map((it) => it.group ?? `path:${it.path}`))].sort(byCodePoint) : [];
  const groupIndex = new Map(groupNames.map((g, i) => [g, i]));
  const groups = Int32Array.from(kept, (it) => (data.grouped ? groupIndex.get(it.group ?? `path:${it.path}`)! : -1));

  await writeNpyStreamed(join(env.outDir, 'images.npy'), pixels.subarray(0, n * frame), [n, H, W, 3]);
  await writeFile(join(env.outDir, 'labels.npy'), encodeNpy(labels, [n]));
  await writeFile(join(env.outDir, 'folds.npy'), encodeNpy(keptFolds, [n]));
  await writeFile(join(env.outDir, 'groups.npy'), encodeNpy(groups, [n]));
  const rows = kept.map((it, r) => [r, displayPath(it.path, params.root), it.className, labels[r]!, it.group ?? '', keptFolds[r]!]);
  await writeFile(join(env.outDir, 'index.csv'), formatCsv(['row', 'path', 'class', 'label', 'group', 'fold'], rows));
  await writeFile(join(env.outDir, 'thumbnails.png'), await thumbnailGrid(pixels, labels, H, W, data.classes.length, params.thumbnails_per_class ?? 6));
  // Messages name files by absolute path; the manifest keeps them relative to root so its
  // bytes do not depend on where the download lives.
  const rel = (m: string): string => (params.root ? m.split(params.root.endsWith(sep) ? params.root : params.root + sep).join('') : m);
  const manifest: Manifest = {
    dataset: env.dataset,
    adapter: params.adapter,
    classes: data.classes,
    size: [H, W],
    count: n,
    perClass,
    groups: data.grouped ? groupNames.length : null,
    folds: K,
    foldSource,
    foldCounts,
    resize: method,
    ...(decodeMode === 'exact' ? {} : { decode: decodeMode }),
    skipped: skipped.map((k) => ({ path: k.path, reason: rel(k.reason) })),
    warnings: warnings.map(rel),
  };
  await writeFile(join(env.outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  env.log(`${env.dataset}: ${n} images ${H}x${W}, classes ${data.classes.map((c) => `${c} ${perClass[c]}`).join(', ')}, folds ${foldCounts.join('/')}`);
  return manifest;
}

/** A path for outputs: relative to the data root with `/` (outputs must not depend on where the data lives). */
export function displayPath(path: string, root: string | undefined): string {
  if (root === undefined || path.startsWith('synthetic:')) return path;
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel.split(sep).join('/');
}

/** Write a .npy from one buffer without concatenating it with the header (no second copy). */
async function writeNpyStreamed(file: string, data: Uint8Array, shape: number[]): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.write(encodeNpyHeader('|u1', shape));
    // Write in chunks so a multi-GB array never needs one giant syscall.
    const chunk = 64 << 20;
    for (let o = 0; o < data.length; o += chunk) await fh.write(data.subarray(o, Math.min(data.length, o + chunk)));
  } finally {
    await fh.close();
  }
}

/**
 * A PNG grid of the first `perClass` images of every class (one row per class), each tile
 * at most 64 px on its longer side, for a quick look at what the network will see.
 */
export async function thumbnailGrid(pixels: Uint8Array, labels: Int32Array, H: number, W: number, nClasses: number, perClass: number): Promise<Buffer> {
  const scale = Math.min(1, 64 / Math.max(H, W));
  const th = Math.max(1, Math.round(H * scale));
  const tw = Math.max(1, Math.round(W * scale));
  const gap = 2;
  const cols = Math.max(1, perClass);
  const gw = cols * (tw + gap) + gap;
  const gh = nClasses * (th + gap) + gap;
  const grid = new Uint8Array(gw * gh * 3).fill(40);
  const used = new Array<number>(nClasses).fill(0);
  const frame = H * W * 3;
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (used[c]! >= cols) continue;
    const ox = gap + used[c]! * (tw + gap);
    const oy = gap + c * (th + gap);
    for (let y = 0; y < th; y++) {
      const sy = Math.min(H - 1, Math.floor(((y + 0.5) * H) / th));
      for (let x = 0; x < tw; x++) {
        const sx = Math.min(W - 1, Math.floor(((x + 0.5) * W) / tw));
        const s = i * frame + (sy * W + sx) * 3;
        const d = ((oy + y) * gw + ox + x) * 3;
        grid[d] = pixels[s]!;
        grid[d + 1] = pixels[s + 1]!;
        grid[d + 2] = pixels[s + 2]!;
      }
    }
    used[c]!++;
  }
  const sharp = await loadSharp();
  return sharp(grid, { raw: { width: gw, height: gh, channels: 3 } }).png({ compressionLevel: 9 }).toBuffer();
}
