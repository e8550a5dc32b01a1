/**
 * Helpers the study's stage adapters share: finding upstream outputs by stage kind,
 * reading the preprocess outputs (images, labels, folds, manifest) and splitting them by
 * fold, and reading/writing the small JSON identity files (`model.json`, `meta.json`) that
 * let downstream stages name models without guessing from matrix axes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StageError, type UpstreamInput } from '../core/contract.ts';
import { readNpy } from '../data/npy.ts';

/** Upstream inputs produced by a given stage kind (`preprocess`, `finetune`, ...). */
export function inputsOfKind(inputs: readonly UpstreamInput[], kind: string): UpstreamInput[] {
  return inputs.filter((i) => i.kind === kind);
}

/** The single upstream of a kind; a StageError naming the instance when there are none or several. */
export function oneInputOfKind(inputs: readonly UpstreamInput[], kind: string, who: string): UpstreamInput {
  const found = inputsOfKind(inputs, kind);
  if (found.length !== 1) {
    throw new StageError(
      'STUDY_UPSTREAM',
      `${who} needs exactly one upstream '${kind}' instance, found ${found.length}${found.length ? ` (${found.map((f) => f.id).join(', ')})` : ''}; check its needs: in pipeline.yaml`,
    );
  }
  return found[0]!;
}

/** The absolute path of an upstream output file; a StageError naming instance and file when absent. */
export function fileOf(input: UpstreamInput, rel: string): string {
  const p = input.files[rel];
  if (!p) {
    throw new StageError('STUDY_MISSING_OUTPUT', `${input.id} has no output ${rel} (it has ${Object.keys(input.files).slice(0, 8).join(', ')}${Object.keys(input.files).length > 8 ? ', …' : ''})`);
  }
  return p;
}

/** The sha256 of an upstream output file (known to the executor; nothing is re-read). */
export function digestOf(input: UpstreamInput, rel: string): string {
  fileOf(input, rel);
  return input.digests[rel]!;
}

/** Read and parse an upstream JSON output. */
export function readJsonOf<T>(input: UpstreamInput, rel: string): T {
  const p = fileOf(input, rel);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as T;
  } catch (e) {
    throw new StageError('STUDY_BAD_OUTPUT', `${input.id}: ${rel} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The preprocess manifest fields the study uses (see PIPELINE.md). */
export interface Manifest {
  dataset: string;
  classes: string[];
  size: [number, number];
  count: number;
  folds: number;
}

/** Preprocessed data set: uint8 NHWC images with labels and held-out fold numbers. */
export interface PreparedData {
  id: string;
  manifest: Manifest;
  images: Uint8Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  folds: Int32Array;
}

/** Load a preprocess instance's outputs, checking that shapes agree. */
export function loadPrepared(input: UpstreamInput): PreparedData {
  const manifest = readJsonOf<Manifest>(input, 'manifest.json');
  const img = readNpy(fileOf(input, 'images.npy'));
  const lab = readNpy(fileOf(input, 'labels.npy'));
  const fol = readNpy(fileOf(input, 'folds.npy'));
  if (img.dtype !== '|u1' || img.shape.length !== 4 || img.shape[3] !== 3) {
    throw new StageError('STUDY_BAD_OUTPUT', `${input.id}: images.npy must be uint8 [N, H, W, 3], found ${img.dtype} [${img.shape.join(', ')}]`);
  }
  const n = img.shape[0]!;
  for (const [name, arr] of [['labels.npy', lab], ['folds.npy', fol]] as const) {
    if (arr.dtype !== '<i4' || arr.shape.length !== 1 || arr.shape[0] !== n) {
      throw new StageError('STUDY_BAD_OUTPUT', `${input.id}: ${name} must be int32 [${n}], found ${arr.dtype} [${arr.shape.join(', ')}]`);
    }
  }
  return {
    id: input.id,
    manifest,
    images: img.data as Uint8Array,
    shape: img.shape as [number, number, number, number],
    labels: lab.data as Int32Array,
    folds: fol.data as Int32Array,
  };
}

/** A subset of a prepared data set, shaped as the training code's ImageSet. */
export interface Subset {
  images: Uint8Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  /** Row numbers in the full data set (so predictions map back to index.csv rows). */
  rows: Int32Array;
}

/** Rows with `pick(fold)` true, copied out. */
export function subsetWhere(d: PreparedData, pick: (fold: number) => boolean): Subset {
  const rows: number[] = [];
  for (let i = 0; i < d.folds.length; i++) if (pick(d.folds[i]!)) rows.push(i);
  const [, h, w, c] = d.shape;
  const per = h * w * c;
  const images = new Uint8Array(rows.length * per);
  rows.forEach((r, k) => images.set(d.images.subarray(r * per, (r + 1) * per), k * per));
  return { images, shape: [rows.length, h, w, c], labels: Int32Array.from(rows, (r) => d.labels[r]!), rows: Int32Array.from(rows) };
}

/**
 * Train = folds != k, held-out = folds == k (the paper's 2-way protocol: the held-out fold is
 * both the early-stopping set and the evaluation set). A StageError when either side is empty.
 */
export function splitByFold(d: PreparedData, k: number): { train: Subset; heldOut: Subset } {
  const heldOut = subsetWhere(d, (f) => f === k);
  const train = subsetWhere(d, (f) => f !== k);
  if (heldOut.shape[0] === 0 || train.shape[0] === 0) {
    throw new StageError(
      'STUDY_EMPTY_FOLD',
      `${d.id}: fold ${k} leaves ${train.shape[0]} training and ${heldOut.shape[0]} held-out images; folds.npy holds folds ${[...new Set(d.folds)].sort((a, b) => a - b).join(', ')}`,
    );
  }
  return { train, heldOut };
}

/**
 * Who a model is, for naming it in tables (`knee-ImageNet-freezeFalse`) without guessing
 * from matrix axes: stored under `study` in the model.json of pretrain and finetune outputs.
 */
export interface StudyIdentity {
  /** `source`: a pretrain output; `finetuned`: trained on a target (from a source or from random init). */
  role: 'source' | 'finetuned';
  /** `file`: given weights; `scratch`: trained from random init by pretrain; `pretrained` / `random`: how a fine-tuning run started. */
  init: 'random' | 'pretrained' | 'file' | 'scratch';
  /** Source axis value (`natural`, `imagenet`, `random`). */
  source: string | null;
  target: string | null;
  freeze: boolean | null;
  fold: number | null;
}

/**
 * `model.json` of pretrain and finetune outputs: what a downstream stage needs to rebuild
 * the network (variant, input size, classes; written by src/ml/train/outputs.ts or by
 * pretrain for given weights) plus the study identity.
 */
export interface ModelInfo {
  variant: string;
  /** [height, width] or a square size. */
  inputSize: [number, number] | number;
  /** Head classes, or null for a backbone-only file (given ImageNet / RadImageNet weights). */
  classes: number | null;
  /**
   * The weights a fine-tuning run started from, by upstream instance id and content digest:
   * never a path, so the bytes of model.json do not depend on where the cache lives.
   * Absent for random init and for pretrain outputs.
   */
  initFrom?: { instance: string; weightsSha256: string };
  /** Input normalisation the model expects (src/ml/preprocess-input.ts mode); absent in older outputs (caffe). */
  preprocess?: string;
  study: StudyIdentity;
}

/** Add the study identity to a model.json in outDir (written by writeRunOutputs), or create one. */
export function writeModelInfo(outDir: string, base: Omit<ModelInfo, 'study'>, study: StudyIdentity): void {
  const file = join(outDir, 'model.json');
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(file, JSON.stringify({ ...base, ...existing, study }, null, 2) + '\n');
}

/** [height, width] of a model.json inputSize. */
export function inputHW(info: Pick<ModelInfo, 'inputSize'>): [number, number] {
  return typeof info.inputSize === 'number' ? [info.inputSize, info.inputSize] : info.inputSize;
}

/** Read an upstream's model.json when it has one. */
export function modelInfoOf(input: UpstreamInput): ModelInfo | undefined {
  return input.files['model.json'] ? readJsonOf<ModelInfo>(input, 'model.json') : undefined;
}
