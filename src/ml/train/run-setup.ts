/**
 * Setting up a training run: the classifier built and initialised, its inputs checked, the
 * batch preprocessing chosen, and the run's fingerprint (which checkpoint it may resume).
 */
import { createHash } from 'node:crypto';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';
import { TrainError } from './errors.ts';
import { describeNet, type Net } from './net.ts';
import type { PreprocessMode, TrainParams } from './params.ts';
import type { ImageSet, InitSpec, ModelFactory, ModelSpec } from './run-types.ts';

/** The input preprocessing applied to every batch (Keras `preprocess_input`, or none). */
export type Preprocess = (x: TF.Tensor4D) => TF.Tensor4D;

/** The batch preprocessing of a run's `preprocess` mode. */
export async function resolvePreprocess(tf: Tf, mode: PreprocessMode): Promise<Preprocess> {
  if (mode === 'none') return (x) => x;
  const { preprocessInput } = await import('../preprocess-input.ts');
  return (x) => preprocessInput(tf, x, mode) as TF.Tensor4D;
}

/** Builds the classifier of a run (a factory's, or a ResNet from the spec) and loads its initial weights. */
export async function buildNet(tf: Tf, model: ModelSpec | ModelFactory, seed: number): Promise<Net> {
  if (typeof model === 'function') return describeNet(tf, await model(tf, seed));
  const { buildResNet, buildClassifier } = await import('../resnet.ts');
  const [h, w] = typeof model.inputSize === 'number' ? [model.inputSize, model.inputSize] : model.inputSize;
  const backbone = buildResNet(tf, { variant: model.variant, inputShape: [h, w, 3], seed, ...(model.bnMomentum !== undefined ? { bnMomentum: model.bnMomentum } : {}) });
  const classifier = buildClassifier(tf, backbone, { classes: model.classes, dropout: model.dropout ?? 0.5, seed });
  const net = describeNet(tf, classifier);
  await loadInit(tf, net, model.init);
  return net;
}

async function loadInit(tf: Tf, net: Net, init: InitSpec): Promise<void> {
  switch (init.kind) {
    case 'random':
      return;
    case 'h5':
    case 'pretrain': {
      const { loadKerasWeights } = await import('../keras-h5.ts');
      try {
        // A pretrain weights.h5 also holds that run's head ('dense'), which is not loaded.
        await loadKerasWeights(net.backbone, init.path, { tf, ...(init.kind === 'pretrain' ? { allowExtra: true } : {}) });
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        throw new TrainError(
          'WEIGHTS_MISMATCH',
          `cannot initialise backbone '${net.backbone.name}' from ${init.path}: ${(e as Error).message}${typeof code === 'string' ? ` [${code}]` : ''}`,
        );
      }
      return;
    }
    default: {
      const never: never = init;
      throw new Error(`unknown init ${JSON.stringify(never)}`);
    }
  }
}

/** Checks an image set against the model: sizes, input shape and label range, with messages naming the split. */
export function checkSet(name: string, set: ImageSet, classes: number, inputShape: (number | null)[]): void {
  const [n, h, w, c] = set.shape;
  if (n === 0) throw new TrainError('EMPTY_SPLIT', `the ${name} split has no images`);
  if (set.images.length !== n * h * w * c) {
    throw new TrainError('BAD_INPUT_SHAPE', `${name} images: shape [${set.shape.join(', ')}] needs ${n * h * w * c} bytes, found ${set.images.length}`);
  }
  if (set.labels.length !== n) throw new TrainError('BAD_INPUT_SHAPE', `${name} labels: expected ${n} (one per image), found ${set.labels.length}`);
  const [mh, mw, mc] = inputShape;
  if ((mh != null && mh !== h) || (mw != null && mw !== w) || (mc != null && mc !== c)) {
    throw new TrainError('BAD_INPUT_SHAPE', `${name} images are ${h}x${w}x${c} but the model expects ${inputShape.map((d) => d ?? '?').join('x')}`);
  }
  for (let i = 0; i < n; i++) {
    const y = set.labels[i]!;
    if (!(y >= 0 && y < classes)) {
      throw new TrainError('LABEL_OUT_OF_RANGE', `${name} label ${y} at row ${i} is outside the head's classes 0..${classes - 1}`);
    }
  }
}

/** Identity of a run for resumption: params, model, data shapes and labels. */
export function fingerprintOf(p: TrainParams, model: ModelSpec | ModelFactory, train: ImageSet, val: ImageSet, weightShapes: number[][]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ p, model: typeof model === 'function' ? 'factory' : model, train: train.shape, val: val.shape, weightShapes }));
  h.update(new Uint8Array(train.labels.buffer, train.labels.byteOffset, train.labels.byteLength));
  h.update(new Uint8Array(val.labels.buffer, val.labels.byteOffset, val.labels.byteLength));
  // A sparse sample of pixels catches a different data set without hashing gigabytes.
  for (const s of [train, val]) {
    const step = Math.max(1, Math.floor(s.images.length / 4096));
    for (let i = 0; i < s.images.length; i += step) h.update(s.images.subarray(i, i + 1));
  }
  return h.digest('hex');
}
