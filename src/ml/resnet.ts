/**
 * Keras-exact ResNet (v1, "bottleneck" blocks) backbones built with the tfjs functional
 * layers API, plus the study's classifier head.
 *
 * Why exact: the study's weights are Keras `.h5` files matched to layers *by name*, and
 * its CCA compares activations of named layers (`conv1_relu`, `conv2_block3_out`, ...).
 * So every layer has the name, the order of creation, the hyper-parameters (BN epsilon
 * 1.001e-5, conv biases, stride on the first 1x1 conv of a stage's first block) and the
 * default initialisers of `tf.keras.applications.ResNet50(include_top=False,
 * pooling='avg')`. Creating layers in the same order as Keras makes `model.layers` come
 * out in the same topological order, which is what Keras' positional `load_weights`
 * relies on when it reads a file we wrote.
 *
 * Smaller variants (`resnet-mini`, `resnet-micro`) keep the naming scheme with fewer
 * blocks and narrower widths so that CPU demos and tests exercise the same code paths.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { StageError } from '../core/contract.ts';
import type { Tf } from './tf.ts';

/** Keras' BatchNormalization epsilon in keras.applications ResNets. */
export const RESNET_BN_EPSILON = 1.001e-5;
/** Keras' BatchNormalization default momentum. */
export const RESNET_BN_MOMENTUM = 0.99;

/** The architecture of one variant: everything the builder and the weight checker need. */
export interface VariantSpec {
  /** Variant name, also the default model name (`resnet50`). */
  readonly name: string;
  /** Filters of the 7x7 stem convolution (64 in ResNet50). */
  readonly stem: number;
  /** Bottleneck filters per stage conv2..conv5; block outputs have 4x as many channels. */
  readonly filters: readonly [number, number, number, number];
  /** Blocks per stage conv2..conv5 ([3, 4, 6, 3] in ResNet50). */
  readonly blocks: readonly [number, number, number, number];
  /** Output channels of a block relative to its bottleneck filters (4 in Keras). */
  readonly expansion: number;
  /** One line for `listVariants()` and docs. */
  readonly description: string;
}

const VARIANTS: Readonly<Record<string, VariantSpec>> = {
  resnet50: {
    name: 'resnet50',
    stem: 64,
    filters: [64, 128, 256, 512],
    blocks: [3, 4, 6, 3],
    expansion: 4,
    description: 'Keras ResNet50 (23,587,712 parameters without top); the study backbone',
  },
  resnet101: {
    name: 'resnet101',
    stem: 64,
    filters: [64, 128, 256, 512],
    blocks: [3, 4, 23, 3],
    expansion: 4,
    description: 'Keras ResNet101 (same naming; not used by the study)',
  },
  resnet152: {
    name: 'resnet152',
    stem: 64,
    filters: [64, 128, 256, 512],
    blocks: [3, 8, 36, 3],
    expansion: 4,
    description: 'Keras ResNet152 (same naming; not used by the study)',
  },
  'resnet-mini': {
    name: 'resnet-mini',
    stem: 16,
    filters: [16, 32, 64, 128],
    blocks: [2, 2, 2, 2],
    expansion: 4,
    description: 'ResNet50 naming, 2 blocks per stage, widths /4 (CPU demos)',
  },
  'resnet-micro': {
    name: 'resnet-micro',
    stem: 8,
    filters: [8, 16, 32, 64],
    blocks: [1, 1, 1, 1],
    expansion: 4,
    description: 'ResNet50 naming, 1 block per stage, widths /8 (tests)',
  },
};

/** A variant name that is not known; lists the known ones so the user can fix the config. */
export class UnknownVariantError extends StageError {
  constructor(readonly variant: string) {
    super(
      'ML_UNKNOWN_VARIANT',
      `unknown model variant '${variant}'; known variants: ${Object.keys(VARIANTS).join(', ')}`,
    );
  }
}

/** A model option the user gave that cannot build a model (input too small, bad classes). */
export class ModelConfigError extends StageError {
  constructor(message: string) {
    super('ML_MODEL_CONFIG', message);
  }
}

/** The spec of a variant by name; throws UnknownVariantError for unknown names. */
export function variantSpec(name: string): VariantSpec {
  const spec = Object.prototype.hasOwnProperty.call(VARIANTS, name) ? VARIANTS[name] : undefined;
  if (!spec) throw new UnknownVariantError(name);
  return spec;
}

/** All known variants (name, description), in a stable order for help texts. */
export function listVariants(): VariantSpec[] {
  return Object.values(VARIANTS);
}

/** The CCA column -> Keras layer name map of protocol.md section 4. */
export type ComparedLayers = Record<'conv1' | 'block1' | 'block2' | 'block3' | 'block4', string>;

/** CCA column names in paper order. */
export const COMPARED_COLUMNS = ['conv1', 'block1', 'block2', 'block3', 'block4'] as const;

/** One CCA column name. */
export type ComparedColumn = (typeof COMPARED_COLUMNS)[number];

/**
 * The layers whose activations the study compares: `conv1_relu` and the output of the
 * last block of each stage (`conv2_block3_out`, `conv3_block4_out`, ... for ResNet50).
 */
export function comparedLayers(variant: string | VariantSpec): ComparedLayers {
  const spec = typeof variant === 'string' ? variantSpec(variant) : variant;
  const out = (stage: 0 | 1 | 2 | 3): string => `conv${stage + 2}_block${spec.blocks[stage]}_out`;
  return { conv1: 'conv1_relu', block1: out(0), block2: out(1), block3: out(2), block4: out(3) };
}

/** What a layer of the backbone is, for shape bookkeeping without building tfjs layers. */
export type LayerKind =
  | 'input'
  | 'zeropad'
  | 'conv'
  | 'bn'
  | 'relu'
  | 'maxpool'
  | 'add'
  | 'gap';

/** One backbone layer as Keras creates it, with its weight shapes. */
export interface LayerPlan {
  readonly name: string;
  readonly kind: LayerKind;
  /** Weight names (Keras short names) and shapes in Keras order; empty for weightless layers. */
  readonly weights: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

function convPlan(name: string, k: number, cin: number, cout: number): LayerPlan {
  return {
    name,
    kind: 'conv',
    weights: [
      { name: 'kernel', shape: [k, k, cin, cout] },
      { name: 'bias', shape: [cout] },
    ],
  };
}

function bnPlan(name: string, c: number): LayerPlan {
  return {
    name,
    kind: 'bn',
    weights: ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((w) => ({ name: w, shape: [c] })),
  };
}

/**
 * The backbone's layers in Keras' `model.layers` order (the topological order that
 * `layer_names` of a Keras .h5 file lists) with their weight shapes, computed
 * without tfjs. Used by `dag weights check` to vet a 100 MB file in milliseconds, and by
 * the tests as the reference the built model must agree with.
 */
export function layerPlan(variant: string | VariantSpec, inputName = 'input_1'): LayerPlan[] {
  const spec = typeof variant === 'string' ? variantSpec(variant) : variant;
  const plan: LayerPlan[] = [{ name: inputName, kind: 'input', weights: [] }];
  const simple = (name: string, kind: LayerKind): void => {
    plan.push({ name, kind, weights: [] });
  };
  simple('conv1_pad', 'zeropad');
  plan.push(convPlan('conv1_conv', 7, 3, spec.stem));
  plan.push(bnPlan('conv1_bn', spec.stem));
  simple('conv1_relu', 'relu');
  simple('pool1_pad', 'zeropad');
  simple('pool1_pool', 'maxpool');
  let cin = spec.stem;
  for (let s = 0; s < 4; s++) {
    const f = spec.filters[s as 0 | 1 | 2 | 3];
    const cout = f * spec.expansion;
    const nBlocks = spec.blocks[s as 0 | 1 | 2 | 3];
    for (let b = 1; b <= nBlocks; b++) {
      const p = `conv${s + 2}_block${b}`;
      plan.push(convPlan(`${p}_1_conv`, 1, cin, f));
      plan.push(bnPlan(`${p}_1_bn`, f));
      simple(`${p}_1_relu`, 'relu');
      plan.push(convPlan(`${p}_2_conv`, 3, f, f));
      plan.push(bnPlan(`${p}_2_bn`, f));
      simple(`${p}_2_relu`, 'relu');
      // Keras sorts layers by depth from the output: the shortcut conv sits at the depth
      // of 3_conv, so the first block reads 0_conv, 3_conv, 0_bn, 3_bn.
      if (b === 1) plan.push(convPlan(`${p}_0_conv`, 1, cin, cout));
      plan.push(convPlan(`${p}_3_conv`, 1, f, cout));
      if (b === 1) plan.push(bnPlan(`${p}_0_bn`, cout));
      plan.push(bnPlan(`${p}_3_bn`, cout));
      simple(`${p}_add`, 'add');
      simple(`${p}_out`, 'relu');
      cin = cout;
    }
  }
  simple('avg_pool', 'gap');
  return plan;
}

/** Parameter count of the backbone (no top) from the plan: 23,587,712 for resnet50. */
export function paramCount(variant: string | VariantSpec): number {
  let n = 0;
  for (const layer of layerPlan(variant)) {
    for (const w of layer.weights) n += w.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

/** Output channels of the stage that ends in a compared layer, by CCA column. */
export function comparedChannels(variant: string | VariantSpec): Record<ComparedColumn, number> {
  const spec = typeof variant === 'string' ? variantSpec(variant) : variant;
  return {
    conv1: spec.stem,
    block1: spec.filters[0] * spec.expansion,
    block2: spec.filters[1] * spec.expansion,
    block3: spec.filters[2] * spec.expansion,
    block4: spec.filters[3] * spec.expansion,
  };
}

/**
 * Spatial output size [h, w] of each compared layer for an input of [h, w] pixels,
 * computed with Keras' 'valid' padding arithmetic (112 -> 56, 28, 14, 7, 4).
 */
export function comparedSpatial(inputHW: readonly [number, number]): Record<ComparedColumn, [number, number]> {
  const one = (x: number): number[] => {
    const conv1 = Math.floor((x + 6 - 7) / 2) + 1;
    const pool = Math.floor((conv1 + 2 - 3) / 2) + 1;
    const c3 = Math.floor((pool - 1) / 2) + 1;
    const c4 = Math.floor((c3 - 1) / 2) + 1;
    const c5 = Math.floor((c4 - 1) / 2) + 1;
    return [conv1, pool, c3, c4, c5];
  };
  const h = one(inputHW[0]);
  const w = one(inputHW[1]);
  const at = (i: number): [number, number] => [h[i] ?? 0, w[i] ?? 0];
  return { conv1: at(0), block1: at(1), block2: at(2), block3: at(3), block4: at(4) };
}

/** Options of `buildResNet`. */
export interface BuildResNetOptions {
  /** Variant name (`resnet50`, `resnet-mini`, `resnet-micro`, ...). */
  variant: string;
  /** Input [height, width, channels]; channels must be 3 (RGB, caffe-preprocessed). */
  inputShape: readonly [number, number, number];
  /** Model name; Keras names the ResNet50 model `resnet50` (the variant name by default). */
  name?: string;
  /** Input layer name (Keras' first auto-named input is `input_1`). */
  inputName?: string;
  /**
   * Seed of the initialisers: two builds with the same seed get identical weights. Each
   * layer gets its own stream derived from (seed, layer name), so equal shapes differ.
   * Without a seed, initialisation is random as in Keras.
   */
  seed?: number;
  /**
   * Momentum of every BatchNormalization layer's moving mean/variance (Keras default 0.99,
   * {@link RESNET_BN_MOMENTUM}). It only affects training: short runs (a few dozen steps)
   * need a smaller value, or the moving statistics that inference uses stay near their
   * (0, 1) initial values while batch statistics are far from them.
   */
  bnMomentum?: number;
}

/** Seed of one layer's initialiser derived from the model seed and the layer name (FNV-1a). */
export function layerSeed(seed: number, layerName: string): number {
  let h = 0x811c9dc5;
  const s = `${seed}:${layerName}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Build the backbone exactly as `tf.keras.applications.ResNet50(include_top=False,
 * pooling='avg')` does (or the named smaller variant): a functional LayersModel whose
 * output is the global-average-pooled `avg_pool` vector. Layers are reachable by their
 * Keras names with `model.getLayer(name)`.
 */
export function buildResNet(tf: Tf, opts: BuildResNetOptions): LayersModel {
  const spec = variantSpec(opts.variant);
  const [h, w, c] = opts.inputShape;
  if (c !== 3) throw new ModelConfigError(`ResNet input must have 3 channels, got inputShape [${opts.inputShape.join(', ')}]`);
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 32 || w < 32) {
    throw new ModelConfigError(`ResNet input must be at least 32x32 pixels, got ${h}x${w}`);
  }
  const seed = opts.seed;
  const bnMomentum = opts.bnMomentum ?? RESNET_BN_MOMENTUM;
  if (!(bnMomentum >= 0 && bnMomentum < 1)) throw new ModelConfigError(`bnMomentum must be in [0, 1), got ${bnMomentum}`);
  const kernelInit = (layer: string): ReturnType<Tf['initializers']['glorotUniform']> | 'glorotUniform' =>
    seed === undefined ? 'glorotUniform' : tf.initializers.glorotUniform({ seed: layerSeed(seed, layer) });

  const conv = (x: SymbolicTensor, filters: number, k: number, stride: number, padding: 'valid' | 'same', name: string): SymbolicTensor =>
    tf.layers
      .conv2d({
        filters,
        kernelSize: k,
        strides: stride,
        padding,
        useBias: true,
        kernelInitializer: kernelInit(name),
        biasInitializer: 'zeros',
        name,
      })
      .apply(x) as SymbolicTensor;
  const bn = (x: SymbolicTensor, name: string): SymbolicTensor =>
    tf.layers
      .batchNormalization({
        axis: 3,
        epsilon: RESNET_BN_EPSILON,
        momentum: bnMomentum,
        gammaInitializer: 'ones',
        betaInitializer: 'zeros',
        movingMeanInitializer: 'zeros',
        movingVarianceInitializer: 'ones',
        name,
      })
      .apply(x) as SymbolicTensor;
  const relu = (x: SymbolicTensor, name: string): SymbolicTensor =>
    tf.layers.activation({ activation: 'relu', name }).apply(x) as SymbolicTensor;

  const input = tf.input({ shape: [h, w, c], name: opts.inputName ?? 'input_1' });
  let x = tf.layers.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }).apply(input) as SymbolicTensor;
  x = conv(x, spec.stem, 7, 2, 'valid', 'conv1_conv');
  x = bn(x, 'conv1_bn');
  x = relu(x, 'conv1_relu');
  x = tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }).apply(x) as SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x) as SymbolicTensor;

  for (let s = 0; s < 4; s++) {
    const f = spec.filters[s as 0 | 1 | 2 | 3];
    const nBlocks = spec.blocks[s as 0 | 1 | 2 | 3];
    // Keras stack1: stride 1 for conv2 (the max pool already halved), 2 for conv3..conv5.
    const stride1 = s === 0 ? 1 : 2;
    for (let b = 1; b <= nBlocks; b++) {
      const p = `conv${s + 2}_block${b}`;
      const stride = b === 1 ? stride1 : 1;
      let shortcut: SymbolicTensor;
      if (b === 1) {
        // Shortcut layers are created before the main path, as in Keras block1().
        shortcut = conv(x, f * spec.expansion, 1, stride, 'valid', `${p}_0_conv`);
        shortcut = bn(shortcut, `${p}_0_bn`);
      } else {
        shortcut = x;
      }
      let y = conv(x, f, 1, stride, 'valid', `${p}_1_conv`);
      y = bn(y, `${p}_1_bn`);
      y = relu(y, `${p}_1_relu`);
      y = conv(y, f, 3, 1, 'same', `${p}_2_conv`);
      y = bn(y, `${p}_2_bn`);
      y = relu(y, `${p}_2_relu`);
      y = conv(y, f * spec.expansion, 1, 1, 'valid', `${p}_3_conv`);
      y = bn(y, `${p}_3_bn`);
      y = tf.layers.add({ name: `${p}_add` }).apply([shortcut, y]) as SymbolicTensor;
      x = relu(y, `${p}_out`);
    }
  }
  const pooled = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: pooled, name: opts.name ?? spec.name });
}

/** Options of the study's classifier head. */
export interface ClassifierOptions {
  /** Number of classes; 2 gives one sigmoid unit (the paper), more a softmax layer. */
  classes: number;
  /** Dropout rate before the Dense layer (0.5 in the study). */
  dropout?: number;
  /** Seed of the Dense kernel initialiser and the dropout noise. */
  seed?: number;
  /** Input layer name of the outer model (Keras' second auto-named input is `input_2`). */
  inputName?: string;
  /** Outer model name (Keras auto-names it `model`). */
  name?: string;
}

/**
 * The study's model: `inputs -> backbone (nested Model) -> Dropout(0.5) -> Dense`, with
 * `Dense(1, sigmoid)` for two classes and `Dense(classes, softmax)` otherwise. The
 * backbone stays one nested layer (named like the backbone, `resnet50`) exactly as in
 * the study's saved files, so its layers stay reachable with
 * `model.getLayer('resnet50').getLayer('conv1_conv')` and a Keras `.h5` written from it
 * has the same structure as the study's fine-tuned checkpoints.
 */
export function buildClassifier(tf: Tf, backbone: LayersModel, opts: ClassifierOptions): LayersModel {
  if (!Number.isInteger(opts.classes) || opts.classes < 2) {
    throw new ModelConfigError(`a classifier needs at least 2 classes, got ${opts.classes}`);
  }
  const rate = opts.dropout ?? 0.5;
  if (!(rate >= 0 && rate < 1)) throw new ModelConfigError(`dropout rate must be in [0, 1), got ${rate}`);
  const inShape = backbone.inputs[0]?.shape;
  if (!inShape) throw new Error('backbone has no input');
  const input = tf.input({ shape: inShape.slice(1) as number[], name: opts.inputName ?? 'input_2' });
  const features = backbone.apply(input) as SymbolicTensor;
  const dropped = tf.layers
    .dropout({ rate, name: 'dropout', ...(opts.seed === undefined ? {} : { seed: layerSeed(opts.seed, 'dropout') }) })
    .apply(features) as SymbolicTensor;
  const binary = opts.classes === 2;
  const out = tf.layers
    .dense({
      units: binary ? 1 : opts.classes,
      activation: binary ? 'sigmoid' : 'softmax',
      kernelInitializer:
        opts.seed === undefined ? 'glorotUniform' : tf.initializers.glorotUniform({ seed: layerSeed(opts.seed, 'dense') }),
      biasInitializer: 'zeros',
      name: 'dense',
    })
    .apply(dropped) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: opts.name ?? 'model' });
}

/**
 * The backbone inside a model built by `buildClassifier` (or the model itself when it is
 * a bare backbone): the nested LayersModel that owns `conv1_conv`.
 */
export function findBackbone(model: LayersModel): LayersModel {
  if (model.layers.some((l) => l.name === 'conv1_conv')) return model;
  for (const layer of model.layers) {
    const inner = layer as unknown as LayersModel;
    if (Array.isArray((inner as { layers?: unknown }).layers)) {
      try {
        return findBackbone(inner);
      } catch {
        // not this nested model; keep looking
      }
    }
  }
  throw new ModelConfigError(`model '${model.name}' has no ResNet backbone (no layer named conv1_conv)`);
}
