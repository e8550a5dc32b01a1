/**
 * Constant tensors made once per tfjs engine and backend. On a GPU backend a JS number
 * operand (`tf.div(x, 255)`) or a fresh `tf.tensor1d(MEAN)` becomes a new tensor that is
 * uploaded on every call (~0.5 ms each on tfjs-webgpu, measured on an H200); the training
 * code's per-batch constants come from here instead. The tensors are kept (never disposed):
 * a handful of scalars and short vectors per process.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './backend.ts';

const cache = new WeakMap<object, Map<string, TF.Tensor>>();

/** The constant `values` (a number: a scalar; an array: a 1-d tensor) as a kept tensor. */
export function constant(tf: Tf, values: number | readonly number[], dtype: 'float32' | 'int32' = 'float32'): TF.Tensor {
  const engine = tf.engine() as object;
  let byKey = cache.get(engine);
  if (byKey === undefined) cache.set(engine, (byKey = new Map()));
  const key = `${tf.getBackend()}|${dtype}|${typeof values === 'number' ? values : `[${values.join(',')}]`}`;
  let t = byKey.get(key);
  if (t === undefined || t.isDisposed) {
    t = tf.keep(typeof values === 'number' ? tf.scalar(values, dtype) : tf.tensor1d([...values], dtype));
    byKey.set(key, t);
  }
  return t;
}
