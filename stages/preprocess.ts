/**
 * Stage kind `preprocess`: one data set in, the arrays every later stage reads out
 * (images.npy uint8 [N,H,W,3], labels.npy, folds.npy 1..K, groups.npy, index.csv,
 * manifest.json, thumbnails.png). A thin adapter over src/data; sharp loads lazily in run().
 */
import { join } from 'node:path';
import { defineStage, type StageContext } from '../src/core/contract.ts';
import type { PlannedInstance } from '../src/study/size-check.ts';
import { preprocessPlanProblems } from '../src/data/plan-check.ts';

const ADAPTERS = ['chest', 'breast', 'thyroid', 'mammograms', 'knee', 'pcam', 'isic', 'folder', 'csv', 'synthetic'] as const;

/** The `preprocess` stage kind (params documented in docs/data.md). */
export default defineStage({
  kind: 'preprocess',
  doc:
    'Reads a data set through an adapter (chest, breast, thyroid, mammograms, knee, pcam, isic, folder, csv, synthetic), ' +
    'assigns folds (GroupKFold on patient ids, seeded StratifiedKFold otherwise, or the paper repository fold CSVs), ' +
    'decodes and resizes every image without cropping (nearest by default, as Keras) and writes images.npy, labels.npy, ' +
    'folds.npy, groups.npy, index.csv, manifest.json and thumbnails.png.',
  version: '1',
  codeDeps: ['src/data', 'src/stats/kfold.ts', 'src/stats/rng.ts'],
  // JPEG decoding runs on one worker thread per reserved CPU slot (capped at --jobs).
  resources: { cpu: 4 },
  params: {
    adapter: { type: 'string', doc: 'Layout reader of the download (see docs/data.md).', enum: ADAPTERS, required: true },
    root: { type: 'path', doc: 'Folder of the download in the adapter\'s layout; not used by synthetic.', mustExist: 'dir' },
    size: { type: 'any', doc: 'Output size: N for N x N, or [height, width]. Default 224.', default: 224 },
    folds: { type: 'number', doc: 'Number of folds K; folds.npy holds 1..K.', default: 5, integer: true, min: 2 },
    splits: { type: 'path', doc: 'Folder of the paper repository\'s val_fold{k}.csv (and test_fold{k}.csv) files; folds are read instead of computed.', mustExist: 'dir' },
    resize: { type: 'string', doc: 'Resampling: nearest (PIL/Keras pixel-centre rule, the study\'s), bilinear or lanczos.', enum: ['nearest', 'bilinear', 'lanczos'], default: 'nearest' },
    on_bad_image: { type: 'string', doc: 'error: stop at the first unreadable image, naming it; skip: leave it out and list it in manifest.json.', enum: ['error', 'skip'], default: 'error' },
    decode: {
      type: 'string',
      doc: 'exact (default): full-size decode (baseline JPEGs with nearest: our libjpeg-identical decoder on worker threads), then the resize; nearest gives the study\'s PIL/Keras pixels bit for bit. fast: JPEG files decode at 1/2, 1/4 or 1/8 scale in the DCT domain (each pixel the mean of a 2x2, 4x4 or 8x8 cell), on one worker thread per core, then the resize; about 3x faster than exact, NOT the study\'s pixels (close in mean); other formats decode as in exact. Recorded in manifest.json.',
      enum: ['exact', 'fast'],
      default: 'exact',
    },
    allow_truncated: { type: 'boolean', doc: 'Accept truncated image files (the missing part decodes as grey), as the study does for mammograms (PIL LOAD_TRUNCATED_IMAGES).', default: false },
    subset: { type: 'number', doc: 'Keep a seeded random subset of this many images (pcam-small: 10000).', integer: true, min: 1 },
    subset_seed: { type: 'number', doc: 'Seed of the subset draw (default 22, the study\'s random_state; our generator is not numpy\'s).', default: 22, integer: true },
    fold_seed: { type: 'number', doc: 'Seed of the stratified fold shuffle (default 2, the study\'s random_state).', default: 2, integer: true },
    class_names: { type: 'array', doc: 'Declared class names; an image with another label is an error (csv / folder adapters).', items: { type: 'string', doc: 'class name' } },
    thumbnails_per_class: { type: 'number', doc: 'Images per class in thumbnails.png.', default: 6, integer: true, min: 1 },
    csv_file: { type: 'string', doc: 'csv adapter: label table, relative to root (default labels.csv).' },
    path_column: { type: 'string', doc: 'csv adapter: column holding the image path relative to root (default path).' },
    label_column: { type: 'string', doc: 'csv adapter: column holding the class name (default class).' },
    group_column: { type: 'string', doc: 'csv adapter: optional column holding the patient id; folds are then grouped.' },
    group_regex: { type: 'string', doc: 'folder adapter: regex on file names whose first capture group is the patient id.' },
    knee_labels: { type: 'string', doc: 'knee adapter: mrnet (validation meniscus labels from valid-meniscus.csv, correct) or study-code (from valid-abnormal.csv, the study code\'s bug).', enum: ['mrnet', 'study-code'], default: 'mrnet' },
    family: { type: 'string', doc: 'synthetic: blobs, radiology or natural.', enum: ['blobs', 'radiology', 'natural'], default: 'blobs' },
    classes: { type: 'number', doc: 'synthetic: number of classes.', default: 2, integer: true, min: 2 },
    count: { type: 'number', doc: 'synthetic: number of images.', default: 200, integer: true, min: 1 },
    image_size: { type: 'any', doc: 'synthetic: generated size N or [h, w] before resizing (default: size).' },
    difficulty: { type: 'number', doc: 'synthetic: 0 (easy) .. 1 (hard); lowers signal contrast and flips 25 % x difficulty of the labels.', default: 0.5, min: 0, max: 1 },
    per_patient: { type: 'number', doc: 'synthetic: images per synthetic patient (0: no groups, stratified folds).', default: 0, integer: true, min: 0 },
    synthetic_seed: { type: 'number', doc: 'synthetic: generator seed (default 0).', default: 0, integer: true },
    options: {
      type: 'object',
      doc: 'Adapter options as one object (e.g. ${dataset.options}), so data sets in one collection can carry different keys; they override the params of the same name. Not for root / splits (paths must be params to be hashed).',
      additional: true,
      default: {},
    },
    batch: { type: 'number', doc: 'Ignored here; data-set collections carry the training batch size for later stages.', integer: true, min: 1 },
  },
  async preflight(ctx) {
    const p = ctx.params as Record<string, unknown>;
    if (p.adapter === 'synthetic') return [];
    const [{ readDataset, mergeOptions, parseSize }, { countItems }, { askOf, sizeProblems }] = await Promise.all([
      import('../src/data/preprocess.ts'),
      import('../src/data/types.ts'),
      import('../src/study/size-check.ts'),
    ]);
    const params = mergeOptions(p);
    let data;
    try {
      data = await readDataset(params);
    } catch {
      return []; // unreadable or missing: PATH_MISSING and `dag data check` say why
    }
    const instances = new Map<string, PlannedInstance>([[ctx.id, { id: ctx.id, kind: 'preprocess', params: p, deps: [] }], ...ctx.downstream.map((d) => [d.id, d] as const)]);
    const dataset = typeof ctx.axes.dataset === 'string' ? ctx.axes.dataset : ctx.id;
    return sizeProblems(countItems(data).perClass, askOf(instances, ctx.id, dataset, parseSize(params.size ?? 224))).map((s) => s.message);
  },
  check: (inst) => preprocessPlanProblems(inst.params),
  // The split files a `splits` folder must hold (val_fold1..K.csv; test_fold{k}.csv are optional),
  // so `dag status` names each missing one before anything runs.
  requiredFiles(params) {
    const dir = params.splits;
    if (typeof dir !== 'string' || dir === '') return [];
    const k = typeof params.folds === 'number' ? params.folds : 5;
    return Array.from({ length: k }, (_, i) => ({ param: 'splits', path: join(dir, `val_fold${i + 1}.csv`), why: `the held-out rows of fold ${i + 1} of ${k}, a split file of param 'splits'` }));
  },
  async run(ctx: StageContext) {
    const { runPreprocess, mergeOptions } = await import('../src/data/preprocess.ts');
    const dataset = typeof ctx.axes.dataset === 'string' ? ctx.axes.dataset : String(ctx.params.adapter);
    await runPreprocess(mergeOptions(ctx.params), {
      outDir: ctx.outDir,
      dataset,
      progress: (p) => ctx.progress(p),
      log: (m) => ctx.log(m),
      warn: (m) => ctx.warn(m),
      signal: ctx.signal,
      threads: ctx.cpus,
    });
  },
});
