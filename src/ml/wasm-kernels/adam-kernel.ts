/**
 * A fused Keras-Adam update for the tfjs wasm backend: one SIMD pass per variable
 * (./gemm.ts's `adam` function) instead of ten elementwise kernels, each a full pass
 * over the variable plus a tensor allocation. ResNet50 has 214 trainable variables
 * (23.5 M floats) and the op-by-op update took ~0.25 s of a training step.
 *
 * Kernel `DagKerasAdam`: inputs x, g, m, v (float32, same shape), attrs lrT, beta1,
 * beta2, epsilon; outputs [x', m', v'] in NEW buffers. Nothing is updated in place:
 * the wasm backend caches XNNPACK operators (packed convolution filters, matmul
 * weights) by tensor id, so a weight changed in place would leave stale packed
 * copies behind; and clones share buffers (see layout-kernels.ts' Identity).
 * The arithmetic is float32 in the op-by-op order of ../train/adam.ts, so both
 * paths give bit-identical results (test/ml-wasm-adam.test.ts).
 */
import type { Tf } from '../tf.ts';
import type { WasmBackendLike } from './conv-grads.ts';
import { gemmKernels, gemmModuleBytes } from './gemm.ts';

/** Name of the fused update kernel (wasm only). */
export const ADAM_KERNEL = 'DagKerasAdam';

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> }) => TensorInfo[];

/** Builds the kernel function (it throws where the SIMD module cannot run; registerAdamKernel checks that first). */
export function makeAdamKernel(): KernelFn {
  return ({ inputs, backend, attrs }) => {
    const { x, g, m, v } = inputs as Record<'x' | 'g' | 'm' | 'v', TensorInfo>;
    for (const t of [g, m, v]) {
      if (t.dtype !== 'float32' || t.shape.join() !== x.shape.join()) throw new Error(`${ADAM_KERNEL}: operands must be float32 of shape [${x.shape.join(',')}]`);
    }
    const memory = backend.wasm?.asm?.memory;
    const kern = memory instanceof WebAssembly.Memory ? gemmKernels(memory) : null;
    if (kern === null) throw new Error(`${ADAM_KERNEL}: wasm SIMD kernels unavailable`);
    const outs = [x, m, v].map((t) => backend.makeOutput([...t.shape], 'float32'));
    const [xo, mo, vo] = outs.map((t) => backend.typedArrayFromHeap(t)) as [Float32Array, Float32Array, Float32Array];
    const [xv, gv, mv, vv] = [x, g, m, v].map((t) => backend.typedArrayFromHeap(t)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const f = Math.fround;
    // The scalars as the op-by-op code's float32 scalar tensors hold them.
    const b1 = attrs['beta1'] as number;
    const b2 = attrs['beta2'] as number;
    const c = { b1: f(b1), ob1: f(1 - b1), b2: f(b2), ob2: f(1 - b2), lr: f(attrs['lrT'] as number), eps: f(attrs['epsilon'] as number) };
    const n = xv.length;
    const n4 = n >>> 2;
    kern.adam(gv.byteOffset, mv.byteOffset, vv.byteOffset, xv.byteOffset, mo.byteOffset, vo.byteOffset, xo.byteOffset, n4, c.b1, c.ob1, c.b2, c.ob2, c.lr, c.eps);
    // The last n % 4 elements in JS, rounding every op to float32 like the SIMD lanes.
    for (let i = n4 * 4; i < n; i++) {
      const gi = gv[i]!;
      const mi = f(f(mv[i]! * c.b1) + f(gi * c.ob1));
      const vi = f(f(vv[i]! * c.b2) + f(f(gi * gi) * c.ob2));
      mo[i] = mi;
      vo[i] = vi;
      xo[i] = f(xv[i]! - f(f(mi * c.lr) / f(f(Math.sqrt(vi)) + c.eps)));
    }
    return outs;
  };
}

/** Registers the kernel on the wasm backend (idempotent); false when wasm SIMD is unavailable. */
export function registerAdamKernel(tf: Tf): boolean {
  if (tf.getKernel(ADAM_KERNEL, 'wasm') !== undefined) return true;
  if (!WebAssembly.validate(gemmModuleBytes())) return false;
  tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc: makeAdamKernel() as unknown as Parameters<Tf['registerKernel']>[0]['kernelFunc'] });
  return true;
}
