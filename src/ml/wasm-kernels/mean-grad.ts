/**
 * Gradient of `Mean` without a tensor of ones, for the wasm backend.
 *
 * tfjs computes d mean / dx as (dy reshaped) * ones(x.shape) / N: the ones are
 * filled in JavaScript and copied into the wasm heap, then two more full-size
 * kernels run. BatchNorm in training mode takes two means per layer (the moments),
 * so a ResNet50 step built ~100 full-size ones arrays (~0.1 s in the profile, plus
 * the copies and kernels). Here: dy / N on the small reduced tensor, then one Tile
 * (./layout-kernels.ts' block-copy kernel) up to x's shape. Multiplying by one is
 * exact, so the values are bit-identical to tfjs' gradient.
 *
 * Like ./batchnorm-grad.ts this replaces a global registry entry, so it delegates
 * to tfjs' own gradient whenever the active backend is not wasm.
 */
import type { Tf } from '../tf.ts';
import { originalGradient, type GradConfig, type GradFunc } from './grad-registry.ts';



const originals = new WeakMap<object, GradConfig>();

/** Registers the replacement (idempotent); false when tfjs' own Mean gradient cannot be found. */
export function registerMeanGrad(tf: Tf): boolean {
  const current = originalGradient('Mean');
  if (current === undefined) return false;
  if (originals.has(tf)) return true;
  const original = current;
  originals.set(tf, original);
  const gradFunc: GradFunc = (dy, saved, attrs) => {
    const x = saved[0];
    if (tf.getBackend() !== 'wasm' || Array.isArray(dy) || x === undefined || dy.dtype !== 'float32') return original.gradFunc(dy, saved, attrs);
    const rank = x.shape.length;
    const raw = attrs['axis'] as number | number[] | null | undefined;
    const list = raw === null || raw === undefined ? x.shape.map((_, i) => i) : Array.isArray(raw) ? raw : [raw];
    const axes = list.map((a) => (a < 0 ? a + rank : a));
    const expanded = x.shape.slice();
    const reps = x.shape.map(() => 1);
    let n = 1;
    for (const a of new Set(axes)) {
      n *= x.shape[a]!;
      expanded[a] = 1;
      reps[a] = x.shape[a]!;
    }
    return { x: () => tf.tile(tf.div(tf.reshape(dy, expanded), n), reps) };
  };
  tf.registerGradient({ ...original, gradFunc } as unknown as Parameters<Tf['registerGradient']>[0]);
  return true;
}
