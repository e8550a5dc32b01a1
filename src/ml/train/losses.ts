/**
 * The study's losses and accuracy, computed from the head's logits.
 *
 * The model ends in Dense(1, sigmoid) with BinaryCrossentropy, or Dense(C, softmax) with
 * CategoricalCrossentropy. Inside `model.fit` tf.keras detects that the output comes from
 * a Sigmoid/Softmax op and computes the loss from the logits (the numerically stable
 * form), so that is the default here ('logits'). 'clipped' is Keras's eager formula on
 * probabilities clipped to [1e-7, 1-1e-7], available for comparison.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';

/** Which head the model has. */
export type HeadKind = 'sigmoid' | 'softmax';

/** How the cross-entropy is computed; see the module comment. */
export type LossForm = 'logits' | 'clipped';

/** Keras `backend.epsilon()`. */
const EPS = 1e-7;

/**
 * Mean cross-entropy of a batch. `logits` is [n, 1] (sigmoid) or [n, C] (softmax); `labels`
 * holds class indices (int32 [n]). Returns a scalar.
 */
export function crossEntropy(tf: Tf, head: HeadKind, logits: TF.Tensor2D, labels: TF.Tensor1D, form: LossForm = 'logits'): TF.Scalar {
  return tf.tidy(() => {
    switch (head) {
      case 'sigmoid': {
        const z = logits.reshape([-1]);
        const y = labels.toFloat();
        if (form === 'logits') {
          // max(z,0) - z·y + log(1 + exp(-|z|)), TF's sigmoid_cross_entropy_with_logits.
          const l = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
          return tf.mean(l) as TF.Scalar;
        }
        const p = tf.clipByValue(tf.sigmoid(z), EPS, 1 - EPS);
        const l = tf.neg(tf.add(tf.mul(y, tf.log(tf.add(p, EPS))), tf.mul(tf.sub(1, y), tf.log(tf.add(tf.sub(1, p), EPS)))));
        return tf.mean(l) as TF.Scalar;
      }
      case 'softmax': {
        const c = logits.shape[1];
        const onehot = tf.oneHot(labels.toInt(), c).toFloat();
        if (form === 'logits') {
          return tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as TF.Scalar;
        }
        const p = tf.clipByValue(tf.softmax(logits), EPS, 1 - EPS);
        return tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.log(p)), -1))) as TF.Scalar;
      }
      default: {
        const never: never = head;
        throw new Error(`unknown head ${String(never)}`);
      }
    }
  });
}

/** Probabilities from logits: sigmoid [n,1] or softmax [n,C]. */
export function probabilities(tf: Tf, head: HeadKind, logits: TF.Tensor2D): TF.Tensor2D {
  return tf.tidy(() => (head === 'sigmoid' ? tf.sigmoid(logits) : tf.softmax(logits)) as TF.Tensor2D);
}

/**
 * Number of correct predictions in plain JS, as Keras's 'acc' resolves: binary_accuracy
 * (p > 0.5) for a sigmoid head, categorical_accuracy (argmax; first maximum on ties) for softmax.
 */
export function countCorrect(head: HeadKind, probs: Float32Array, classes: number, labels: ArrayLike<number>): number {
  let correct = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    let pred: number;
    if (head === 'sigmoid') {
      pred = probs[i]! > 0.5 ? 1 : 0;
    } else {
      pred = 0;
      for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + pred]!) pred = c;
    }
    if (pred === labels[i]) correct++;
  }
  return correct;
}
