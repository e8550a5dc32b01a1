/**
 * Evaluating a classifier on a held-out set: the validation pass after each epoch and the
 * final evaluation of the best checkpoint.
 */
import type { Tf } from '../tf.ts';
import type { Progress } from '../../core/contract.ts';
import { gatherBatch } from './augment.ts';
import { TrainError } from './errors.ts';
import { countCorrect, crossEntropy, probabilities } from './losses.ts';
import { forward, type Net } from './net.ts';
import type { TrainParams } from './params.ts';
import type { Preprocess } from './run-setup.ts';
import type { ImageSet } from './run-types.ts';

/** Loss, accuracy and probabilities of one pass over a set. */
export interface EvalResult {
  loss: number;
  acc: number;
  probs: Float32Array;
  units: number;
}

/** Evaluation batches are never augmented, so they never draw. */
const noRandom = (): (() => number) => {
  throw new Error('evaluation batches must not draw random numbers');
};

/** Hooks of an evaluation pass: cancellation and progress between batches. */
export interface EvalHooks {
  signal: AbortSignal | undefined;
  /** What is being evaluated, for messages ("full epoch 3 validation"). */
  what: string;
  progress: (p: Progress) => void;
}

/** One pass over `set` in inference mode (no augmentation, no dropout), in batches of `batchSize`. */
export function evaluate(tf: Tf, net: Net, set: ImageSet, batchSize: number, pre: Preprocess, p: TrainParams, hooks: EvalHooks): EvalResult {
  const [n] = set.shape;
  const batches = Math.ceil(n / batchSize);
  const units = net.head === 'sigmoid' ? 1 : net.classes;
  const probs = new Float32Array(n * units);
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    if (hooks.signal?.aborted) throw new TrainError('ABORTED', `training aborted during ${hooks.what}; the last epoch checkpoint is kept`);
    const end = Math.min(n, start + batchSize);
    const idx = Array.from({ length: end - start }, (_, k) => start + k);
    const x = gatherBatch(set.images, set.shape, idx, null, noRandom);
    const [lossT, probT] = tf.tidy(() => {
      const xs = pre(tf.tensor4d(x, [end - start, set.shape[1], set.shape[2], set.shape[3]]));
      const logits = forward(tf, net, xs, { backboneTraining: false, dropout: null });
      const ys = tf.tensor1d(set.labels.subarray(start, end), 'int32');
      return [crossEntropy(tf, net.head, logits, ys, p.lossForm), probabilities(tf, net.head, logits)];
    });
    lossSum += (lossT.dataSync()[0] ?? NaN) * (end - start);
    probs.set(probT.dataSync() as Float32Array, start * units);
    tf.dispose([lossT, probT]);
    hooks.progress({ done: Math.ceil(end / batchSize), total: batches, unit: 'val batch', message: hooks.what });
  }
  const correct = countCorrect(net.head, probs, net.classes, set.labels);
  return { loss: lossSum / n, acc: correct / n, probs, units };
}
