/**
 * Activations of named backbone layers for a set of images, as the study's CCA script
 * takes them (`K.function([model.layers[1].input], [layer.output])`): inference mode
 * (BN moving statistics, no dropout), caffe-preprocessed input, full NHWC maps.
 *
 * One sub-model with one output per requested layer runs each batch once; every batch
 * runs inside `tf.tidy`, and its outputs are copied straight into preallocated float32
 * arrays, so tfjs memory stays bounded by one batch however many images there are.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { StageError } from '../core/contract.ts';
import { writeNpy } from '../data/npy.ts';
import type { Tf } from './tf.ts';
import { preprocessInput, type ImageBatch, type PreprocessMode } from './preprocess-input.ts';
import { findBackbone } from './resnet.ts';

/** One layer's activations for all images, NHWC float32 (or [n, c] for pooled layers). */
export interface Activation {
  readonly data: Float32Array;
  readonly shape: number[];
}

/** Options of `extractActivations`. */
export interface ExtractOptions {
  /** Keras layer names of the backbone (`conv1_relu`, `conv2_block3_out`, ...). */
  layers: readonly string[];
  /** Images per forward pass (default 32). */
  batchSize?: number;
  /** Input preprocessing (default 'caffe', the study's). */
  mode?: PreprocessMode;
  /** Called after each batch with images done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** A requested layer that the model lacks, or images that do not fit the model input. */
export class ExtractError extends StageError {
  constructor(code: 'ML_UNKNOWN_LAYER' | 'ML_INPUT_SHAPE', message: string) {
    super(code, message);
  }
}

/**
 * Run the images through the model's backbone (the model itself, or the nested backbone
 * of a classifier) and return the activations of each requested layer by Keras name.
 */
export async function extractActivations(
  tf: Tf,
  model: LayersModel,
  images: ImageBatch,
  opts: ExtractOptions,
): Promise<Map<string, Activation>> {
  const n = images.shape[0];
  const result = new Map<string, Activation>();
  await forEachActivationBatch(tf, model, images, opts, (layer, start, count, data, shape) => {
    let act = result.get(layer);
    if (!act) {
      const full = [n, ...shape.slice(1)];
      act = { data: new Float32Array(full.reduce((a, b) => a * b, 1)), shape: full };
      result.set(layer, act);
    }
    act.data.set(data, start * (data.length / count));
  });
  return result;
}

/**
 * The streaming form of `extractActivations`: one forward pass per batch, and `visit(layer,
 * start, count, data, shape)` receives each layer's activations of images start..start+count-1
 * (in `indices` order when given: a subset of `images` without copying them first). Nothing
 * is kept after `visit` returns, so memory stays bounded by one batch however many images.
 */
export async function forEachActivationBatch(
  tf: Tf,
  model: LayersModel,
  images: ImageBatch,
  opts: ExtractOptions & { indices?: ArrayLike<number> },
  visit: (layer: string, start: number, count: number, data: Float32Array, shape: number[]) => void,
): Promise<void> {
  const backbone = findBackbone(model);
  const known = new Set(backbone.layers.map((l) => l.name));
  const unknown = opts.layers.filter((l) => !known.has(l));
  if (unknown.length > 0) {
    throw new ExtractError(
      'ML_UNKNOWN_LAYER',
      `model '${backbone.name}' has no layer ${unknown.map((u) => `'${u}'`).join(', ')}; compared layers are e.g. conv1_relu, conv2_block3_out`,
    );
  }
  const [, h, w, c] = images.shape;
  const inShape = backbone.inputs[0]?.shape ?? [];
  if (inShape[1] !== h || inShape[2] !== w || (c !== 3 && c !== 1)) {
    throw new ExtractError(
      'ML_INPUT_SHAPE',
      `images have shape [${images.shape.join(', ')}] but model '${backbone.name}' expects [n, ${inShape.slice(1).join(', ')}]`,
    );
  }
  const order = opts.indices;
  const n = order ? order.length : images.shape[0];
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 32));
  const outputs = opts.layers.map((l) => backbone.getLayer(l).output as SymbolicTensor);
  const sub = tf.model({ inputs: backbone.inputs, outputs });
  const pixels = h * w * c;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    let data: Uint8Array;
    if (order) {
      data = new Uint8Array((end - start) * pixels);
      for (let k = start; k < end; k++) {
        const i = order[k] as number;
        data.set(images.data.subarray(i * pixels, (i + 1) * pixels), (k - start) * pixels);
      }
    } else {
      data = images.data.subarray(start * pixels, end * pixels);
    }
    const slice: ImageBatch = { data, shape: [end - start, h, w, c] };
    const outs = tf.tidy(() => {
      const x = preprocessInput(tf, slice, opts.mode ?? 'caffe');
      // predict() runs in inference mode: BN uses moving statistics, dropout is off.
      const y = sub.predict(x, { batchSize: end - start }) as Tensor | Tensor[];
      return Array.isArray(y) ? y : [y];
    });
    try {
      for (let i = 0; i < outs.length; i++) visit(opts.layers[i]!, start, end - start, (await outs[i]!.data()) as Float32Array, outs[i]!.shape as number[]);
    } finally {
      for (const t of outs) t.dispose();
    }
    opts.onProgress?.(end, n);
  }
}

/** What `writeActivations` records in meta.json. */
export interface ActivationsMeta {
  /** Model identity for humans (variant or weights description). */
  readonly model: string;
  /** Number of images the activations cover. */
  readonly images: number;
  /** Free extra fields (input size, preprocessing mode, ...). */
  readonly [key: string]: unknown;
}

/**
 * Write activations as the `extract` stage layout of PIPELINE.md: `acts/<column>.npy`
 * (float32 NHWC) per column, and `meta.json` {model, images, layers: {column: {layer,
 * shape}}}. `columns` maps the file name (CCA column, e.g. `block1`) to the Keras layer;
 * without it, files are named after the layers.
 */
export function writeActivations(
  dir: string,
  acts: ReadonlyMap<string, Activation>,
  meta: ActivationsMeta,
  columns?: Readonly<Record<string, string>>,
): string[] {
  const pairs: [string, string][] = columns ? Object.entries(columns) : [...acts.keys()].map((l) => [l, l]);
  mkdirSync(join(dir, 'acts'), { recursive: true });
  const layers: Record<string, { layer: string; shape: number[] }> = {};
  const written: string[] = [];
  for (const [column, layer] of pairs) {
    const act = acts.get(layer);
    if (!act) throw new ExtractError('ML_UNKNOWN_LAYER', `no activations were extracted for layer '${layer}' (column ${column})`);
    const file = join('acts', `${column}.npy`);
    writeNpy(join(dir, file), act.data, act.shape);
    layers[column] = { layer, shape: act.shape };
    written.push(file);
  }
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify({ ...meta, layers }, null, 2)}\n`);
  written.push('meta.json');
  return written;
}
