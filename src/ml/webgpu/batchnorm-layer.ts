/**
 * Routes tfjs-layers' BatchNormalization to ./batchnorm.ts' `DagBatchNormTrain` in
 * training mode on the webgpu backend, so the model code (src/ml/resnet.ts builds
 * plain `tf.layers.batchNormalization` layers) stays backend-agnostic.
 *
 * tfjs-layers exposes no hook between the layer and `tf.moments`, so this wraps the
 * layer class's `call` (found through tfjs' serialization registry, without creating
 * a layer): in training mode, on webgpu, for a float32 channels-last input with
 * gamma and beta, the whole layer (statistics, normalisation, moving-average
 * updates) is one kernel with its own gradient; in every other case, including every
 * other backend, the original `call` runs unchanged. Like the wasm path's gradient
 * replacements, this is process-global and idempotent.
 */
import type { Tf } from '../backend.ts';
import { BN_TRAIN_GRAD_KERNEL, BN_TRAIN_KERNEL, registerBatchNormKernels } from './batchnorm.ts';

type Tensor = import('@tensorflow/tfjs').Tensor;

/** The fields of tfjs-layers' BatchNormalization read here. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: { read(): Tensor } | null;
  beta?: { read(): Tensor } | null;
  movingMean: { read(): Tensor; write(v: Tensor): void };
  movingVariance: { read(): Tensor; write(v: Tensor): void };
}
type Call = (this: BatchNormLayer, inputs: Tensor | Tensor[], kwargs: Record<string, unknown>) => Tensor | Tensor[];

const patched = new WeakSet<object>();

/** Wraps BatchNormalization's `call` (idempotent); false when the layer class cannot be found. */
export function routeBatchNormLayer(tf: Tf): boolean {
  const map = (tf.serialization.SerializationMap.getMap() as unknown as { classNameMap: Record<string, [{ prototype: { call: Call } }, unknown]> }).classNameMap;
  const cls = map['BatchNormalization']?.[0];
  if (cls === undefined) return false;
  const proto = cls.prototype;
  if (patched.has(proto)) return true;
  const original = proto.call;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = kwargs?.['training'] === true;
    const gamma = this.gamma;
    const beta = this.beta;
    const fits =
      training &&
      x !== undefined &&
      tf.getBackend() === 'webgpu' &&
      tf.getKernel(BN_TRAIN_KERNEL, 'webgpu') !== undefined &&
      x.dtype === 'float32' &&
      x.rank >= 2 &&
      x.size > 0 &&
      (this.axis === -1 || this.axis === x.rank - 1) &&
      gamma !== null &&
      gamma !== undefined &&
      beta !== null &&
      beta !== undefined;
    if (!fits) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const [y, , mean, variance] = tf.engine().runKernel(
        BN_TRAIN_KERNEL,
        { x, scale: gamma.read(), offset: beta.read(), movingMean: this.movingMean.read(), movingVariance: this.movingVariance.read() } as never,
        { varianceEpsilon: this.epsilon, momentum: this.momentum } as never,
      ) as unknown as [Tensor, Tensor, Tensor, Tensor];
      this.movingMean.write(mean);
      this.movingVariance.write(variance);
      return y;
    });
  };
  patched.add(proto);
  return true;
}

/** Training-mode BatchNorm as a family for ./register.ts (`DagBatchNormTrain` in `off` keeps tfjs' path). */
export const BATCHNORM_FAMILY = {
  name: 'batchnorm',
  register: (tf: Tf, off: ReadonlySet<string>): readonly string[] => {
    if (off.has(BN_TRAIN_KERNEL)) return [];
    registerBatchNormKernels(tf);
    if (!routeBatchNormLayer(tf)) return [];
    return [BN_TRAIN_KERNEL, BN_TRAIN_GRAD_KERNEL];
  },
};
