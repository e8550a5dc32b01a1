/**
 * Keras HDF5 weights (`.h5`) read and written with h5wasm, so that the study's files
 * (Keras' ImageNet `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`, the
 * RadImageNet file, the fine-tuned checkpoints) load into our tfjs models, and the files
 * we write load back into Keras with `model.load_weights(path)`.
 *
 * The two layouts of Keras 2 (tf.keras up to 2.15):
 * - weights-only (`save_weights`): root attributes `layer_names`, `backend`,
 *   `keras_version`; one group per layer with attribute `weight_names`
 *   (`conv1_conv/kernel:0`, ...); each weight is the dataset `<layer>/<weight name>`;
 * - full model (`save` / ModelCheckpoint): the same structure inside `model_weights/`,
 *   plus a root attribute `model_config` (JSON).
 * A nested model (the study's `inputs -> resnet50 -> dropout -> dense`) is one layer
 * group `resnet50` whose weight names carry the inner layer (`conv1_conv/kernel:0`), in
 * Keras' order for a Model used as a layer: all trainable weights, then all
 * non-trainable ones (the BN moving statistics last). We therefore map every weight *by
 * its inner layer name and short name*, never by position, and we write nested groups in
 * exactly that order so Keras' positional loader gets every array in the right place.
 *
 * Arrays are float32 and copied bit for bit in both directions.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs';
import { StageError } from '../core/contract.ts';
import type { Tf } from './tf.ts';
import { layerPlan, variantSpec } from './resnet.ts';

/** The Keras version we claim in files we write (the study ran TF/Keras 2.8). */
export const WRITTEN_KERAS_VERSION = '2.8.0';

/** HDF5 limits an object header (and so one attribute) to 64 KiB; Keras splits above this. */
const HDF5_OBJECT_HEADER_LIMIT = 64512;

/** Stable codes of the weight-file problems a user can cause. */
export type KerasWeightsErrorCode =
  | 'ML_H5_NOT_FOUND'
  | 'ML_H5_UNREADABLE'
  | 'ML_H5_LAYOUT'
  | 'ML_H5_MISSING_LAYER'
  | 'ML_H5_EXTRA_LAYER'
  | 'ML_H5_SHAPE_MISMATCH'
  | 'ML_H5_DTYPE';

/** A weights file that does not fit the model: names the file, the layer and both shapes. */
export class KerasWeightsError extends StageError {
  constructor(
    override readonly code: KerasWeightsErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/** The two Keras 2 HDF5 layouts. */
export type KerasLayout = 'weights' | 'model';

/** One weight dataset in a file. */
export interface H5Weight {
  /** Short name: `kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`. */
  readonly weight: string;
  /** Full weight name as listed in `weight_names` (`conv1_conv/kernel:0`). */
  readonly fullName: string;
  /** Dataset path inside the file. */
  readonly path: string;
  readonly shape: readonly number[];
  /** h5wasm dtype string (`<f` is little-endian float32). */
  readonly dtype: string;
}

/** One layer's weights in a file, nested models expanded into their inner layers. */
export interface H5Layer {
  readonly layer: string;
  /** Top-level layer group holding it when it came from a nested model (`resnet50`). */
  readonly nestedIn: string | null;
  readonly weights: readonly H5Weight[];
}

/** What `inspectKerasWeights` reports about a file. */
export interface KerasWeightsInfo {
  readonly file: string;
  readonly layout: KerasLayout;
  readonly kerasVersion: string | null;
  readonly backend: string | null;
  /** Top-level `layer_names`, in file order (including weightless layers). */
  readonly layerNames: readonly string[];
  /** Top-level layer groups that are nested models. */
  readonly nested: readonly string[];
  /** Layers with weights, nested models expanded, in file order. */
  readonly layers: readonly H5Layer[];
}

/** The weights a model (or a variant) expects for one layer. */
export interface ExpectedLayer {
  readonly layer: string;
  readonly weights: readonly { readonly weight: string; readonly shape: readonly number[] }[];
}

/** One weight whose shape differs (or which one side lacks: shape null). */
export interface WeightMismatch {
  readonly layer: string;
  readonly weight: string;
  readonly expected: readonly number[] | null;
  readonly found: readonly number[] | null;
}

/** How a file fits a model: layer names matched, missing from the file, extra in the file. */
export interface WeightsFit {
  readonly matched: string[];
  readonly missing: string[];
  readonly extra: string[];
  readonly mismatched: WeightMismatch[];
}

type H5Module = typeof import('h5wasm/node').default;
type H5Group = InstanceType<H5Module['Group']>;
type H5File = InstanceType<H5Module['File']>;

let h5Promise: Promise<H5Module> | null = null;

/** h5wasm, loaded lazily (it is a few MB of wasm) and initialised once per process. */
async function h5(): Promise<H5Module> {
  h5Promise ??= (async () => {
    const mod = (await import('h5wasm/node')).default;
    await mod.ready;
    return mod;
  })();
  return h5Promise;
}

function shapeStr(shape: readonly number[] | null): string {
  return shape === null ? 'absent' : `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Attribute value as a list of strings (Keras stores names as fixed-length byte strings). */
function stringList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  // h5py stores Keras' empty name list of a weightless layer as an empty float64 array.
  if (ArrayBuffer.isView(value) && !(value instanceof Uint8Array)) return [];
  const arr = Array.isArray(value) ? value : [value];
  return arr
    .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v)).replace(/\0+$/, ''))
    .filter((v) => v.length > 0);
}

/** Read a name-list attribute, including Keras' chunked form (`weight_names0`, `weight_names1`, ...). */
function readNameAttr(group: H5Group, name: string): string[] | null {
  const attrs = group.attrs;
  if (name in attrs) return stringList(attrs[name]?.value);
  if (`${name}0` in attrs) {
    const out: string[] = [];
    for (let i = 0; `${name}${i}` in attrs; i++) out.push(...stringList(attrs[`${name}${i}`]?.value));
    return out;
  }
  return null;
}

function readScalarString(group: H5Group, name: string): string | null {
  if (!(name in group.attrs)) return null;
  const list = stringList(group.attrs[name]?.value);
  return list[0] ?? null;
}

/** Write a name list the way Keras does: fixed-length strings, split into chunks above 64 KiB. */
function writeNameAttr(group: H5Group, name: string, names: readonly string[]): void {
  const width = Math.max(1, ...names.map((n) => Buffer.byteLength(n, 'utf8'))) + 1;
  const dtype = `A${width}`;
  if (names.length * width <= HDF5_OBJECT_HEADER_LIMIT) {
    group.create_attribute(name, [...names], [names.length], dtype);
    return;
  }
  const perChunk = Math.max(1, Math.floor(HDF5_OBJECT_HEADER_LIMIT / width));
  for (let i = 0, c = 0; i < names.length; i += perChunk, c++) {
    const chunk = names.slice(i, i + perChunk);
    group.create_attribute(`${name}${c}`, chunk, [chunk.length], dtype);
  }
}

/** `conv1_conv/kernel:0` in group `g` -> inner layer `conv1_conv`, short name `kernel`. */
function splitWeightName(fullName: string, group: string): { layer: string; weight: string } {
  const parts = fullName.replace(/:\d+$/, '').split('/');
  const weight = parts[parts.length - 1] ?? fullName;
  const layer = parts.length >= 2 ? (parts[parts.length - 2] ?? group) : group;
  return { layer, weight };
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * True when the file carries the HDF5 signature (at 0, or after a user block at 512,
 * 1024, 2048, ...). Checked before h5wasm opens it: h5wasm reports a bad file only as
 * an invalid handle plus pages of C diagnostics on stderr.
 */
function hasHdf5Signature(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      if (readSync(fd, buf, 0, 8, off) === 8 && buf.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

function openForRead(mod: H5Module, file: string): H5File {
  if (!existsSync(file)) throw new KerasWeightsError('ML_H5_NOT_FOUND', `weights file not found: ${file}`);
  if (!hasHdf5Signature(file)) throw new KerasWeightsError('ML_H5_UNREADABLE', `${file} is not an HDF5 file (no HDF5 signature)`);
  let f: H5File;
  try {
    f = new mod.File(file, 'r');
  } catch (e) {
    throw new KerasWeightsError('ML_H5_UNREADABLE', `${file} is not a readable HDF5 file: ${String(e)}`);
  }
  if (f.file_id < 0n) throw new KerasWeightsError('ML_H5_UNREADABLE', `${file} could not be opened as an HDF5 file (damaged or truncated?)`);
  return f;
}

/** Locate the group holding `layer_names` (root or `model_weights/`) and the layout. */
function weightsRoot(f: H5File, file: string): { group: H5Group; layout: KerasLayout } {
  if (readNameAttr(f, 'layer_names') !== null) return { group: f, layout: 'weights' };
  const mw = f.keys().includes('model_weights') ? f.get('model_weights') : null;
  if (mw && 'keys' in mw && readNameAttr(mw as H5Group, 'layer_names') !== null) {
    return { group: mw as H5Group, layout: 'model' };
  }
  const hint = f.keys().includes('layers')
    ? ' (it looks like a Keras 3 `.weights.h5` file; save it from Keras 2 / tf.keras, or with `save_weights(..., save_format="h5")`)'
    : '';
  throw new KerasWeightsError(
    'ML_H5_LAYOUT',
    `${file} is not a Keras HDF5 weights file: no root attribute 'layer_names' and no 'model_weights' group${hint}`,
  );
}

function scan(f: H5File, file: string): KerasWeightsInfo {
  const { group, layout } = weightsRoot(f, file);
  const layerNames = readNameAttr(group, 'layer_names') ?? [];
  const layers: H5Layer[] = [];
  const nested: string[] = [];
  const byName = new Map<string, { layer: string; nestedIn: string | null; weights: H5Weight[] }>();
  for (const name of layerNames) {
    const g = group.get(name);
    if (!g || !('keys' in g)) {
      throw new KerasWeightsError('ML_H5_LAYOUT', `${file}: layer_names lists '${name}' but there is no group of that name`);
    }
    const weightNames = readNameAttr(g as H5Group, 'weight_names') ?? [];
    let isNested = false;
    for (const full of weightNames) {
      const ds = (g as H5Group).get(full);
      if (!ds || !('shape' in ds)) {
        throw new KerasWeightsError('ML_H5_LAYOUT', `${file}: layer '${name}' lists weight '${full}' but has no such dataset`);
      }
      const { layer, weight } = splitWeightName(full, name);
      const nestedIn = layer === name ? null : name;
      if (nestedIn !== null) isNested = true;
      let entry = byName.get(layer);
      if (!entry) {
        entry = { layer, nestedIn, weights: [] };
        byName.set(layer, entry);
        layers.push(entry);
      }
      entry.weights.push({
        weight,
        fullName: full,
        path: `${group.path === '/' ? '' : group.path}/${name}/${full}`,
        shape: ds.shape ?? [],
        dtype: typeof ds.dtype === 'string' ? ds.dtype : JSON.stringify(ds.dtype),
      });
    }
    if (isNested) nested.push(name);
  }
  return {
    file,
    layout,
    kerasVersion: readScalarString(group, 'keras_version') ?? readScalarString(f, 'keras_version'),
    backend: readScalarString(group, 'backend') ?? readScalarString(f, 'backend'),
    layerNames,
    nested,
    layers,
  };
}

/**
 * Per-layer weight names and shapes of a Keras `.h5` file, without reading any array
 * (fast on a 100 MB ResNet50 file). Nested models are expanded into their inner layers.
 */
export async function inspectKerasWeights(file: string): Promise<KerasWeightsInfo> {
  const mod = await h5();
  const f = openForRead(mod, file);
  try {
    return scan(f, file);
  } finally {
    f.close();
  }
}

/** True when a tfjs layer is itself a model (a nested backbone). */
function isModelLayer(layer: unknown): layer is LayersModel {
  return typeof layer === 'object' && layer !== null && Array.isArray((layer as { layers?: unknown }).layers);
}

/** Short Keras name of a tfjs variable (`conv1_conv/kernel_1` -> `kernel`). */
function shortName(v: LayerVariable): string {
  const original = (v as unknown as { originalName?: string }).originalName ?? v.name;
  return original.split('/').pop() ?? original;
}

interface ModelLayerWeights {
  readonly layer: string;
  readonly nestedIn: string | null;
  readonly vars: readonly LayerVariable[];
}

/** Every layer with weights, nested models expanded, in model order. */
function modelLayers(model: LayersModel, nestedIn: string | null = null): ModelLayerWeights[] {
  const out: ModelLayerWeights[] = [];
  for (const layer of model.layers) {
    if (isModelLayer(layer)) {
      out.push(...modelLayers(layer, layer.name));
    } else if (layer.weights.length > 0) {
      out.push({ layer: layer.name, nestedIn, vars: layer.weights });
    }
  }
  return out;
}

/** The weights a built model expects, per layer (nested models expanded). */
export function expectedFromModel(model: LayersModel): ExpectedLayer[] {
  return modelLayers(model).map((l) => ({
    layer: l.layer,
    weights: l.vars.map((v) => ({ weight: shortName(v), shape: v.shape as number[] })),
  }));
}

/**
 * The weights a variant's backbone expects, from its layer plan (no tfjs); with
 * `classes`, plus the study's Dense head on the pooled features.
 */
export function expectedFromVariant(variant: string, opts: { classes?: number } = {}): ExpectedLayer[] {
  const spec = variantSpec(variant);
  const out: ExpectedLayer[] = layerPlan(spec)
    .filter((l) => l.weights.length > 0)
    .map((l) => ({ layer: l.name, weights: l.weights.map((w) => ({ weight: w.name, shape: w.shape })) }));
  if (opts.classes !== undefined) {
    const features = spec.filters[3] * spec.expansion;
    const units = opts.classes === 2 ? 1 : opts.classes;
    out.push({
      layer: 'dense',
      weights: [
        { weight: 'kernel', shape: [features, units] },
        { weight: 'bias', shape: [units] },
      ],
    });
  }
  return out;
}

/** Pair expected weights with file weights by short name, falling back to position. */
function pairWeights(
  expected: ExpectedLayer,
  found: H5Layer,
): { pairs: { index: number; weight: H5Weight }[]; mismatches: WeightMismatch[] } {
  const byShort = new Map(found.weights.map((w) => [w.weight, w]));
  const namesAgree = expected.weights.every((w) => byShort.has(w.weight));
  const pairs: { index: number; weight: H5Weight }[] = [];
  const mismatches: WeightMismatch[] = [];
  expected.weights.forEach((ew, i) => {
    const fw = namesAgree ? byShort.get(ew.weight) : found.weights[i];
    if (!fw) {
      mismatches.push({ layer: expected.layer, weight: ew.weight, expected: ew.shape, found: null });
    } else if (!sameShape(ew.shape, fw.shape)) {
      mismatches.push({ layer: expected.layer, weight: ew.weight, expected: ew.shape, found: fw.shape });
    } else {
      pairs.push({ index: i, weight: fw });
    }
  });
  if (found.weights.length > expected.weights.length) {
    const used = new Set(pairs.map((p) => p.weight.fullName));
    for (const fw of found.weights) {
      if (!used.has(fw.fullName) && !(namesAgree && expected.weights.some((e) => e.weight === fw.weight))) {
        mismatches.push({ layer: expected.layer, weight: fw.weight, expected: null, found: fw.shape });
      }
    }
  }
  return { pairs, mismatches };
}

function fitOf(info: KerasWeightsInfo, expected: readonly ExpectedLayer[]): WeightsFit {
  const fileLayers = new Map(info.layers.map((l) => [l.layer, l]));
  const expectedNames = new Set(expected.map((e) => e.layer));
  const fit: WeightsFit = { matched: [], missing: [], extra: [], mismatched: [] };
  for (const e of expected) {
    const f = fileLayers.get(e.layer);
    if (!f) {
      fit.missing.push(e.layer);
      continue;
    }
    const { mismatches } = pairWeights(e, f);
    if (mismatches.length > 0) fit.mismatched.push(...mismatches);
    else fit.matched.push(e.layer);
  }
  for (const l of info.layers) if (!expectedNames.has(l.layer)) fit.extra.push(l.layer);
  return fit;
}

/**
 * How a weights file fits a model or a variant's backbone (by layer name; nested models
 * expanded): matched layers, layers missing from the file, extra layers in the file, and
 * every weight whose shape differs. Reads no arrays. With a variant name and `classes`,
 * the study's Dense head is expected too.
 */
export async function checkWeightsFit(
  file: string,
  target: string | LayersModel,
  opts: { classes?: number } = {},
): Promise<WeightsFit> {
  const info = await inspectKerasWeights(file);
  const expected = typeof target === 'string' ? expectedFromVariant(target, opts) : expectedFromModel(target);
  return fitOf(info, expected);
}

/** Options of `loadKerasWeights`. */
export interface LoadKerasWeightsOptions {
  /** Skip layers whose shapes differ instead of failing (Keras' `skip_mismatch`). */
  skipMismatch?: boolean;
  /** Model layers that may be absent from the file (they keep their current weights). */
  allowMissing?: readonly string[];
  /**
   * File layers the model may lack: true for any (e.g. loading only the backbone of a
   * fine-tuned checkpoint, whose `dense` head is then extra), or a list of names.
   */
  allowExtra?: boolean | readonly string[];
  /** tf namespace to create tensors with (default: the installed @tensorflow/tfjs). */
  tf?: Tf;
}

/** What `loadKerasWeights` did. */
export interface LoadReport {
  readonly file: string;
  readonly layout: KerasLayout;
  readonly loaded: string[];
  readonly skipped: WeightMismatch[];
  readonly missing: string[];
  readonly extra: string[];
}

function toFloat32(value: unknown, w: H5Weight, file: string): Float32Array {
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array || value instanceof Uint16Array) {
    if (value instanceof Uint16Array) {
      throw new KerasWeightsError('ML_H5_DTYPE', `${file}: weight ${w.path} is float16, which is not supported; re-save as float32`);
    }
    return Float32Array.from(value);
  }
  throw new KerasWeightsError('ML_H5_DTYPE', `${file}: weight ${w.path} has dtype ${w.dtype}, expected float32`);
}

/**
 * Load a Keras `.h5` (either layout, nested models included) into a tfjs model by layer
 * name. A model layer missing from the file, an extra layer in the file, or a shape
 * mismatch is a KerasWeightsError naming the layer and both shapes, unless allowed by
 * the options. Arrays are copied bit-exactly.
 */
export async function loadKerasWeights(model: LayersModel, file: string, opts: LoadKerasWeightsOptions = {}): Promise<LoadReport> {
  const tf = opts.tf ?? ((await import('@tensorflow/tfjs')) as unknown as Tf);
  const mod = await h5();
  const f = openForRead(mod, file);
  try {
    const info = scan(f, file);
    const fileLayers = new Map(info.layers.map((l) => [l.layer, l]));
    const targets = modelLayers(model);
    const targetNames = new Set(targets.map((t) => t.layer));
    const allowMissing = new Set(opts.allowMissing ?? []);
    const report: LoadReport = { file, layout: info.layout, loaded: [], skipped: [], missing: [], extra: [] };

    for (const l of info.layers) {
      if (targetNames.has(l.layer)) continue;
      const allowed = opts.allowExtra === true || (Array.isArray(opts.allowExtra) && opts.allowExtra.includes(l.layer));
      if (!allowed) {
        throw new KerasWeightsError(
          'ML_H5_EXTRA_LAYER',
          `${file}: layer '${l.layer}'${l.nestedIn ? ` (in '${l.nestedIn}')` : ''} has weights ` +
            `${l.weights.map((w) => `${w.weight} ${shapeStr(w.shape)}`).join(', ')} but model '${model.name}' has no such layer`,
        );
      }
      report.extra.push(l.layer);
    }

    // Check everything before assigning anything, so a bad file leaves the model untouched.
    const plan: { t: ModelLayerWeights; pairs: { index: number; weight: H5Weight }[] }[] = [];
    for (const t of targets) {
      const found = fileLayers.get(t.layer);
      const expected: ExpectedLayer = {
        layer: t.layer,
        weights: t.vars.map((v) => ({ weight: shortName(v), shape: v.shape as number[] })),
      };
      if (!found) {
        if (!allowMissing.has(t.layer)) {
          throw new KerasWeightsError(
            'ML_H5_MISSING_LAYER',
            `${file}: model layer '${t.layer}' (${expected.weights.map((w) => `${w.weight} ${shapeStr(w.shape)}`).join(', ')}) ` +
              `is not in the file; the file has ${info.layers.length} layers with weights`,
          );
        }
        report.missing.push(t.layer);
        continue;
      }
      const { pairs, mismatches } = pairWeights(expected, found);
      if (mismatches.length > 0) {
        if (!opts.skipMismatch) {
          const m = mismatches[0]!;
          throw new KerasWeightsError(
            'ML_H5_SHAPE_MISMATCH',
            `${file}: layer '${m.layer}' weight '${m.weight}': model expects ${shapeStr(m.expected)}, file has ${shapeStr(m.found)}` +
              (mismatches.length > 1 ? ` (and ${mismatches.length - 1} more mismatch(es) in this layer)` : ''),
          );
        }
        report.skipped.push(...mismatches);
        continue;
      }
      plan.push({ t, pairs });
    }

    for (const { t, pairs } of plan) {
      for (const { index, weight } of pairs) {
        const ds = f.get(weight.path);
        if (!ds || !('value' in ds)) throw new Error(`dataset ${weight.path} vanished while loading`);
        const data = toFloat32(ds.value, weight, file);
        const v = t.vars[index]!;
        const value = tf.tensor(data, v.shape as number[], 'float32');
        v.write(value);
        value.dispose();
      }
      report.loaded.push(t.layer);
    }
    return report;
  } finally {
    f.close();
  }
}

/** Options of `saveKerasWeights`. */
export interface SaveKerasWeightsOptions {
  /** 'weights' = `save_weights` layout; 'model' = `save` layout (`model_weights/` + config). */
  layout?: KerasLayout;
}

/** A Keras weight name for a tfjs variable: `<layer>/<short>:0`. */
function kerasWeightName(layer: string, v: LayerVariable): string {
  return `${layer}/${shortName(v)}:0`;
}

/** The (name, variable) list Keras saves for one top-level layer. */
function savedWeightsOf(layer: LayersModel['layers'][number]): { name: string; v: LayerVariable }[] {
  if (isModelLayer(layer)) {
    // Keras saves a nested Model's weights as trainable_weights + non_trainable_weights,
    // each gathered layer by layer (recursively), and loads them back by position.
    const inner = modelLayers(layer);
    const trainable: { name: string; v: LayerVariable }[] = [];
    const frozen: { name: string; v: LayerVariable }[] = [];
    for (const l of inner) {
      for (const v of l.vars) (v.trainable ? trainable : frozen).push({ name: kerasWeightName(l.layer, v), v });
    }
    return [...trainable, ...frozen];
  }
  return layer.weights.map((v) => ({ name: kerasWeightName(layer.name, v), v }));
}

/**
 * Write a model's weights as a Keras HDF5 file that `model.load_weights(file)` reads
 * (both by topology and `by_name=True`), float32 bit-exact. `layout: 'model'` nests
 * them under `model_weights/` and adds a best-effort `model_config` (the tfjs
 * Keras-style JSON), as `model.save` would. Written to a temporary name and renamed so
 * a crash leaves no half-written file.
 */
export async function saveKerasWeights(model: LayersModel, file: string, opts: SaveKerasWeightsOptions = {}): Promise<void> {
  const layout = opts.layout ?? 'weights';
  const mod = await h5();
  const tmp = `${file}.tmp-${process.pid}`;
  withFixedClock(() => writeWeightsFile(mod, model, tmp, layout));
  renameSync(tmp, file);
}

/**
 * The time HDF5 stamps on every object it creates (its modification-time header message):
 * fixed, so the same weights always give the same bytes (the cache keys downstream work on
 * output digests). 2000-01-01T00:00:00Z rather than 0, which some readers show as "unset".
 */
export const H5_FIXED_TIME_MS = Date.UTC(2000, 0, 1);

/**
 * Run a synchronous h5wasm write with the clock HDF5 sees pinned to {@link H5_FIXED_TIME_MS}.
 * h5wasm does not expose `H5Pset_obj_track_times`; its C library reads the time through
 * Emscripten's `Date.now()` call, so pinning that for the duration of the (synchronous,
 * single-threaded) write fixes every timestamp in the file. Nothing else runs meanwhile.
 */
function withFixedClock<T>(write: () => T): T {
  const real = Date.now;
  Date.now = () => H5_FIXED_TIME_MS;
  try {
    return write();
  } finally {
    Date.now = real;
  }
}

function writeWeightsFile(mod: H5Module, model: LayersModel, tmp: string, layout: KerasLayout): void {
  // Cap the object format at HDF5 1.10 so the h5py/HDF5 of TF 2.x era Keras reads the file
  // (h5wasm bundles HDF5 2.0, whose newest object formats older libraries refuse).
  const f = new mod.File(tmp, 'w', { libver: ['earliest', 'v110'] });
  try {
    let root: H5Group = f;
    switch (layout) {
      case 'weights':
        break;
      case 'model': {
        f.create_attribute('keras_version', WRITTEN_KERAS_VERSION);
        f.create_attribute('backend', 'tensorflow');
        f.create_attribute('model_config', JSON.stringify(model.toJSON(null, false)));
        root = f.create_group('model_weights');
        break;
      }
      default: {
        const never: never = layout;
        throw new Error(`unknown layout ${String(never)}`);
      }
    }
    writeNameAttr(root, 'layer_names', model.layers.map((l) => l.name));
    root.create_attribute('backend', 'tensorflow');
    root.create_attribute('keras_version', WRITTEN_KERAS_VERSION);
    for (const layer of model.layers) {
      const g = root.create_group(layer.name);
      const weights = savedWeightsOf(layer);
      writeNameAttr(g, 'weight_names', weights.map((w) => w.name));
      const groups = new Map<string, H5Group>();
      for (const { name, v } of weights) {
        const slash = name.lastIndexOf('/');
        const dir = name.slice(0, slash);
        let sub = groups.get(dir);
        if (!sub) {
          sub = g;
          for (const part of dir.split('/')) sub = sub.keys().includes(part) ? (sub.get(part) as H5Group) : sub.create_group(part);
          groups.set(dir, sub);
        }
        const data = v.read().dataSync() as Float32Array;
        sub.create_dataset({ name: name.slice(slash + 1), data, shape: v.shape as number[], dtype: '<f' });
      }
    }
  } catch (e) {
    f.close();
    rmSync(tmp, { force: true });
    throw e;
  }
  f.close();
}
