/**
 * Tiny, generated training fixtures for tests, benchmarks and docs: a "bright square
 * present / absent" image set and a small Keras-shaped classifier
 * (input -> nested conv backbone -> Dropout -> Dense) that trains in seconds on a CPU.
 * Nothing is downloaded; everything is a pure function of the seed.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';
import { createRng } from '../../stats/rng.ts';
import type { ImageSet, ModelFactory } from './finetune.ts';

/**
 * n images of size x size: dim noise, plus (label 1) a bright square of side size/4 at a
 * random place; with `classes` > 2 the square's colour channel (R, G or B) is the class - 1
 * and label 0 has no square. Labels alternate so every split has all classes.
 */
export function squaresDataset(n: number, size: number, seed: number, classes = 2): ImageSet {
  const rng = createRng(seed);
  const images = new Uint8Array(n * size * size * 3);
  const labels = new Int32Array(n);
  const side = Math.max(2, Math.floor(size / 4));
  for (let i = 0; i < n; i++) {
    const y = i % classes;
    labels[i] = y;
    const base = i * size * size * 3;
    for (let q = 0; q < size * size * 3; q++) images[base + q] = 20 + rng.int(60);
    if (y > 0) {
      const r0 = rng.int(size - side);
      const c0 = rng.int(size - side);
      for (let r = r0; r < r0 + side; r++) {
        for (let c = c0; c < c0 + side; c++) {
          for (let ch = 0; ch < 3; ch++) {
            const on = classes === 2 || ch === (y - 1) % 3;
            images[base + (r * size + c) * 3 + ch] = on ? 200 + rng.int(56) : 20;
          }
        }
      }
    }
  }
  return { images, shape: [n, size, size, 3], labels };
}

/**
 * A factory for a small classifier shaped like the study's (nested backbone with
 * BatchNorm, Dropout, Dense sigmoid/softmax head), seeded from the run seed.
 */
export function tinyClassifier(opts: { size: number; classes?: number; filters?: number; dropout?: number }): ModelFactory {
  return (tf: Tf, seed: number): TF.LayersModel => {
    const classes = opts.classes ?? 2;
    const f = opts.filters ?? 4;
    const init = (k: number): ReturnType<Tf['initializers']['glorotUniform']> => tf.initializers.glorotUniform({ seed: seed * 97 + k });
    const input = tf.input({ shape: [opts.size, opts.size, 3] });
    let x = tf.layers.conv2d({ filters: f, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1) }).apply(input) as TF.SymbolicTensor;
    x = tf.layers.batchNormalization({ axis: 3 }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 2 * f, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(2) }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.batchNormalization({ axis: 3 }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as TF.SymbolicTensor;
    const backbone = tf.model({ inputs: input, outputs: x, name: 'tiny_backbone' });
    const inp = tf.input({ shape: [opts.size, opts.size, 3] });
    let y = backbone.apply(inp) as TF.SymbolicTensor;
    y = tf.layers.dropout({ rate: opts.dropout ?? 0.5 }).apply(y) as TF.SymbolicTensor;
    const binary = classes === 2;
    y = tf.layers
      .dense({ units: binary ? 1 : classes, activation: binary ? 'sigmoid' : 'softmax', kernelInitializer: init(3), name: 'dense' })
      .apply(y) as TF.SymbolicTensor;
    return tf.model({ inputs: inp, outputs: y, name: 'tiny_classifier' });
  };
}
