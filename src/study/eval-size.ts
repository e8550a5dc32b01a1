/**
 * Evaluating a fine-tuned classifier at another input size than it was trained at, as the
 * scripts that wrote the paper's AUC.csv and similarity.csv did for thyroid and mammograms
 * (trained at 224, evaluated at 112; protocol.md 1.4, divergence 4). The network is fully
 * convolutional with global average pooling, so the trained weights fit a copy built for the
 * other size. The held-out images are resized from the stored ones with PIL's NEAREST rule
 * (Keras' loader); the scripts resized the original files to 112 directly, so a pixel may
 * come from a neighbouring source pixel (documented in docs/study.md).
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { resizeNearestInto } from '../data/resize.ts';
import type { Tf } from '../ml/backend.ts';
import { preprocessInput, type PreprocessMode } from '../ml/preprocess-input.ts';
import { buildClassifier, buildResNet } from '../ml/resnet.ts';

/** Uint8 NHWC images (3 channels). */
export interface Images {
  images: Uint8Array;
  shape: [number, number, number, number];
}

/** Every image resized to [h, w] with PIL's NEAREST pixel-centre rule. */
export function resizeImages(set: Images, h: number, w: number): Images {
  const [n, ih, iw, c] = set.shape;
  if (c !== 3) throw new Error(`resizeImages expects 3-channel images, got ${c}`);
  const out = new Uint8Array(n * h * w * 3);
  const per = ih * iw * 3;
  for (let i = 0; i < n; i++) {
    resizeNearestInto({ data: set.images.subarray(i * per, (i + 1) * per), width: iw, height: ih, channels: 3 }, h, w, out, i * h * w * 3);
  }
  return { images: out, shape: [n, h, w, 3] };
}

/** Held-out probabilities and accuracy of a trained classifier at another size. */
export interface SizedEvaluation {
  probs: Float32Array;
  shape: [number, number];
  accuracy: number;
}

/**
 * Copy `trained` (a buildClassifier model of `variant`) into one built for [h, w] input and
 * predict `set` resized to it, in inference mode, batch by batch.
 */
export function evaluateAtSize(
  tf: Tf,
  trained: LayersModel,
  set: Images & { labels: Int32Array },
  opts: { variant: string; classes: number; size: [number, number]; preprocess: PreprocessMode; batch: number },
): SizedEvaluation {
  const [h, w] = opts.size;
  const backbone = buildResNet(tf, { variant: opts.variant, inputShape: [h, w, 3], seed: 0 });
  const model = buildClassifier(tf, backbone, { classes: opts.classes, dropout: 0.5, seed: 0 });
  try {
    model.setWeights(trained.getWeights());
    const sized = resizeImages(set, h, w);
    const n = set.shape[0];
    const units = opts.classes === 2 ? 1 : opts.classes;
    const probs = new Float32Array(n * units);
    const per = h * w * 3;
    for (let start = 0; start < n; start += opts.batch) {
      const end = Math.min(n, start + opts.batch);
      const y = tf.tidy(() => {
        const x = preprocessInput(tf, { data: sized.images.subarray(start * per, end * per), shape: [end - start, h, w, 3] }, opts.preprocess);
        return model.predict(x, { batchSize: end - start }) as Tensor;
      });
      probs.set(y.dataSync() as Float32Array, start * units);
      y.dispose();
    }
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let pred: number;
      if (units === 1) pred = probs[i]! > 0.5 ? 1 : 0;
      else {
        pred = 0;
        for (let k = 1; k < units; k++) if (probs[i * units + k]! > probs[i * units + pred]!) pred = k;
      }
      if (pred === set.labels[i]) correct++;
    }
    return { probs, shape: [n, units], accuracy: n ? correct / n : 0 };
  } finally {
    model.dispose();
  }
}
