/**
 * Adam with tf.keras 2.x semantics and serialisable state.
 *
 * Keras (optimizer_v2 `Adam` -> `ResourceApplyAdam`) updates, at step t = iterations + 1,
 *   m <- b1·m + (1-b1)·g,  v <- b2·v + (1-b2)·g²,
 *   var <- var - lr·sqrt(1-b2^t)/(1-b1^t) · m / (sqrt(v) + eps)
 * with eps = 1e-7 outside the bias correction. tfjs's built-in Adam bias-corrects m and v
 * separately (so eps is scaled differently), keys its slots by position and cannot be
 * restored without creating variables lazily; owning the ~30 lines gives the Keras formula
 * and an exact save/restore of the moments and the iteration count for resumption.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';
import { ADAM_KERNEL } from '../wasm-kernels/adam-kernel.ts';

/** Adam hyper-parameters (Keras defaults except the study's learning rate). */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Keras `Adam()` defaults; the study passes lr 1e-5 for fine-tuning, 1e-3 (default) for the head phase. */
export const KERAS_ADAM: Readonly<AdamConfig> = Object.freeze({ lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });

/** Plain-data optimizer state, as stored in a resume checkpoint. */
export interface AdamState {
  iterations: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** Keras-style Adam over an explicit, ordered list of variables. */
export class KerasAdam {
  private readonly m: TF.Variable[];
  private readonly v: TF.Variable[];
  private iterations = 0;

  /**
   * `opts.fused` (default true): on the wasm backend, update each variable with the
   * one-pass `DagKerasAdam` kernel (bit-identical to the op-by-op update, several
   * times faster); false always uses the op-by-op update.
   */
  constructor(
    private readonly tf: Tf,
    private readonly vars: readonly TF.Variable[],
    readonly config: AdamConfig,
    private readonly opts: { fused?: boolean } = {},
  ) {
    this.m = vars.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = vars.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  /** Number of updates applied so far (Keras `optimizer.iterations`). */
  get step(): number {
    return this.iterations;
  }

  /** Apply one update; `grads[i]` belongs to `vars[i]` (null: no gradient, variable skipped). */
  apply(grads: ReadonlyArray<TF.Tensor | null>): void {
    const tf = this.tf;
    const { lr, beta1, beta2, epsilon } = this.config;
    const t = this.iterations + 1;
    const lrT = (lr * Math.sqrt(1 - Math.pow(beta2, t))) / (1 - Math.pow(beta1, t));
    const fused = this.opts.fused !== false && tf.getBackend() === 'wasm' && tf.getKernel(ADAM_KERNEL, 'wasm') !== undefined;
    tf.tidy(() => {
      this.vars.forEach((x, i) => {
        const g = grads[i];
        if (g === null || g === undefined) return;
        const m = this.m[i]!;
        const v = this.v[i]!;
        if (fused && g.dtype === 'float32' && x.dtype === 'float32') {
          const attrs = { lrT, beta1, beta2, epsilon };
          const [nx, nm, nv] = tf.engine().runKernel(ADAM_KERNEL, { x, g, m, v }, attrs as never) as unknown as TF.Tensor[];
          m.assign(nm!);
          v.assign(nv!);
          x.assign(nx!);
          return;
        }
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        x.assign(tf.sub(x, tf.div(tf.mul(m, lrT), tf.add(tf.sqrt(v), epsilon))));
      });
    });
    this.iterations = t;
  }

  /** Copy the state out (for the checkpoint). */
  getState(): AdamState {
    return {
      iterations: this.iterations,
      m: this.m.map((x) => x.dataSync() as Float32Array).map((a) => new Float32Array(a)),
      v: this.v.map((x) => x.dataSync() as Float32Array).map((a) => new Float32Array(a)),
    };
  }

  /** Restore a state saved by {@link getState} for the same variable list. */
  setState(s: AdamState): void {
    if (s.m.length !== this.m.length || s.v.length !== this.v.length) {
      throw new RangeError(`optimizer state has ${s.m.length} slots, this optimizer ${this.m.length}`);
    }
    const tf = this.tf;
    tf.tidy(() => {
      this.m.forEach((x, i) => x.assign(tf.tensor(s.m[i]!, x.shape)));
      this.v.forEach((x, i) => x.assign(tf.tensor(s.v[i]!, x.shape)));
    });
    this.iterations = s.iterations;
  }

  /** Free the slot variables. */
  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
