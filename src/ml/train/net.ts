/**
 * The trainable network seen by the loop: a Keras-shaped classifier
 * `input -> backbone (nested model) -> [Dropout] -> Dense(sigmoid|softmax)`, and a forward
 * pass that runs the backbone and the head in separately chosen modes.
 *
 * Why not `model.apply(x, {training})`: the freeze strategy needs BatchNorm in inference
 * mode while the head's dropout is active; and tfjs's Dropout layer with a fixed `seed`
 * draws the same mask on every call (it reseeds per call), while without one it uses
 * Math.random. So the head is applied layer by layer here: dropout masks come from the
 * run's counter-based streams (deterministic and resumable) and the last Dense layer yields
 * logits, from which the loss is computed as tf.keras does inside `fit`.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';
import type { HeadKind } from './losses.ts';
import { stream } from './random.ts';

/** A classifier prepared for training. */
export interface Net {
  /** The whole classifier; its `weights` order is the checkpoint order. */
  model: TF.LayersModel;
  /** The nested backbone (a layer of `model`); frozen in the head phase. */
  backbone: TF.LayersModel;
  /** Layers applied after the backbone, in order (Dropout, Dense, ...). */
  headLayers: TF.layers.Layer[];
  /** Output activation of the last Dense layer. */
  head: HeadKind;
  /** Number of classes the labels index (2 for a single sigmoid unit). */
  classes: number;
  /** Model input [h, w, c] (null entries for a size-agnostic backbone). */
  inputShape: (number | null)[];
}

/**
 * Describe a Keras-shaped classifier. The backbone is the first layer that is itself a
 * LayersModel; everything after it is the head, ending in a Dense layer with a sigmoid
 * (1 unit) or softmax activation. Throws a plain Error for other shapes (a programming bug:
 * models come from `buildClassifier` or a test).
 */
export function describeNet(tf: Tf, model: TF.LayersModel): Net {
  const layers = model.layers;
  const bi = layers.findIndex((l) => l instanceof tf.LayersModel);
  if (bi < 0) throw new Error(`model ${model.name} has no nested backbone model`);
  const backbone = layers[bi] as TF.LayersModel;
  const headLayers = layers.slice(bi + 1);
  const last = headLayers[headLayers.length - 1];
  if (last === undefined || last.getClassName() !== 'Dense') {
    throw new Error(`model ${model.name} must end in a Dense layer, found ${last?.getClassName() ?? 'nothing'}`);
  }
  const cfg = last.getConfig();
  const units = cfg['units'] as number;
  const activation = cfg['activation'] as string;
  let head: HeadKind;
  if (activation === 'sigmoid' && units === 1) head = 'sigmoid';
  else if (activation === 'softmax') head = 'softmax';
  else throw new Error(`head Dense layer ${last.name} must be sigmoid with 1 unit or softmax, found ${activation} with ${units}`);
  const inShape = model.inputs[0]?.shape ?? [];
  return { model, backbone, headLayers, head, classes: head === 'sigmoid' ? 2 : units, inputShape: inShape.slice(1) };
}

/** The tf.Variables behind a list of layer weights (what `variableGrads` needs). */
export function variablesOf(weights: readonly TF.LayerVariable[]): TF.Variable[] {
  return weights.map((w) => w.read() as TF.Variable);
}

/** Trainable variables of the head only (the classifier's minus the backbone's). */
export function headVariables(net: Net): TF.Variable[] {
  const inBackbone = new Set(net.backbone.weights.map((w) => w.read().id));
  return variablesOf(net.model.trainableWeights).filter((v) => !inBackbone.has(v.id));
}

/** How one forward pass runs. */
export interface ForwardMode {
  /** BatchNorm (and anything else mode-dependent) in the backbone: training mode? */
  backboneTraining: boolean;
  /**
   * Dropout: null for inference; otherwise the coordinates of this step, from which each
   * Dropout layer's mask stream is derived.
   */
  dropout: { seed: number; epoch: number; batch: number } | null;
}

/** Run the backbone alone (for the frozen phase: computed outside the gradient tape). */
export function backboneFeatures(net: Net, x: TF.Tensor, training: boolean): TF.Tensor {
  return net.backbone.apply(x, { training }) as TF.Tensor;
}

/** Apply the head to backbone features; returns logits [n, units]. */
export function headLogits(tf: Tf, net: Net, features: TF.Tensor, mode: ForwardMode): TF.Tensor2D {
  let h = features;
  net.headLayers.forEach((layer, li) => {
    const cls = layer.getClassName();
    const isLast = li === net.headLayers.length - 1;
    if (cls === 'Dropout') {
      const rate = layer.getConfig()['rate'] as number;
      if (mode.dropout !== null && rate > 0) h = tf.mul(h, dropoutMask(tf, h.shape, rate, mode.dropout, li));
    } else if (isLast) {
      // Dense pre-activation: x·W + b from the layer's own variables (tracked by the tape).
      const [kernel, bias] = layer.weights;
      if (kernel === undefined) throw new Error(`Dense layer ${layer.name} has no kernel`);
      let z = tf.matMul(h as TF.Tensor2D, kernel.read() as TF.Tensor2D);
      if (bias !== undefined) z = tf.add(z, bias.read());
      h = z;
    } else {
      h = layer.apply(h, { training: mode.dropout !== null }) as TF.Tensor;
    }
  });
  return h as TF.Tensor2D;
}

/** Full forward pass: logits [n, units]. */
export function forward(tf: Tf, net: Net, x: TF.Tensor, mode: ForwardMode): TF.Tensor2D {
  return headLogits(tf, net, backboneFeatures(net, x, mode.backboneTraining), mode);
}

/** Keras inverted dropout mask (keep if u >= rate, scaled by 1/(1-rate)) from a counter stream. */
function dropoutMask(
  tf: Tf,
  shape: number[],
  rate: number,
  at: { seed: number; epoch: number; batch: number },
  layerIndex: number,
): TF.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const rand = stream(at.seed, 'dropout', at.epoch, at.batch, layerIndex);
  const keep = 1 / (1 - rate);
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) m[i] = rand() >= rate ? keep : 0;
  return tf.tensor(m, shape);
}
