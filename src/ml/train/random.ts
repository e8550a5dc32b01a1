/**
 * Counter-based random streams for training, over the project's seeded generator
 * (src/stats/rng.ts).
 *
 * Every random choice of a run (epoch shuffling, the augmentation of each image, each
 * dropout mask) is drawn from a generator seeded by the run seed and the coordinates of
 * that choice: `stream(seed, 'augment', epoch, imageSlot)`. The stream of epoch 7 does not
 * depend on what was drawn in epochs 1-6, so a resumed run needs no generator state and
 * still draws exactly what an uninterrupted run draws.
 */
import { createRng, deriveSeed, permutation as rngPermutation } from '../../stats/rng.ts';

/** What a stream is for, so two kinds of draws with the same coordinates never share one. */
export type Purpose = 'shuffle' | 'augment' | 'dropout';

/** A uniform [0, 1) function for one (seed, purpose, coordinates) point. */
export function stream(seed: number, purpose: Purpose, ...coords: number[]): () => number {
  const rng = createRng(deriveSeed(seed, 'train', purpose, ...coords));
  return () => rng.next();
}

/** The order in which epoch `epoch` (1-based, counted over the whole run) visits n samples. */
export function epochOrder(seed: number, epoch: number, n: number): Int32Array {
  return rngPermutation(createRng(deriveSeed(seed, 'train', 'shuffle', epoch)), n);
}
