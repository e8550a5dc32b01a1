/**
 * The Relu gradient on WebGPU in one dispatch: dx = dy * (x > 0 ? 1 : 0).
 *
 * tfjs computes it as dy * cast(step(x)): two dispatches (Step, Multiply) for each
 * of ResNet50's 49 ReLUs per training step. Like the wasm path's gradient
 * replacements (../wasm-kernels/mean-grad.ts), this replaces a process-global
 * registry entry and delegates to tfjs' own gradient off webgpu or off float32.
 * Bit-identical to tfjs' result for every non-NaN x (a NaN x gives 0 here, NaN there).
 */
import type { Tf } from '../backend.ts';
import { originalGradient, type GradConfig, type GradFunc, type Tensor } from '../wasm-kernels/grad-registry.ts';
import { bindingsWgsl, dispatch, getPipeline, makeOutput, spreadGroups, type TensorInfo, type WebGpuBackendLike } from './program.ts';

/** Kernel name: inputs dy, x; output dx. */
export const RELU_GRAD_KERNEL = 'DagReluGrad';

function reluGrad(args: { inputs: Record<string, TensorInfo>; backend: WebGpuBackendLike }): TensorInfo {
  const { dy, x } = args.inputs as Record<'dy' | 'x', TensorInfo>;
  const { backend } = args;
  const n = x.shape.reduce((a, b) => a * b, 1);
  const dx = makeOutput(backend, [...x.shape]);
  const groups = spreadGroups(Math.ceil(n / 256));
  const pipeline = getPipeline(backend.device, 'relu_grad', 2, 1, () => `
${bindingsWgsl(['dy', 'x'], ['dx'], ['n', 'gx'])}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = (wg.y * u.gx + wg.x) * 256u + lid.x;
  if (i < u.n) { dx[i] = dy[i] * select(0.0, 1.0, x[i] > 0.0); }
}`);
  dispatch(backend, { name: 'relu_grad', pipeline, inputs: [dy, x], outputs: [dx], uniforms: [n, groups[0]], groups });
  return dx;
}

const originals = new WeakMap<object, GradConfig>();

/** Registers the kernel on webgpu and the Relu gradient that uses it there (idempotent); false when tfjs' Relu gradient is missing. */
export function registerReluGrad(tf: Tf): boolean {
  if (tf.getKernel(RELU_GRAD_KERNEL, 'webgpu') === undefined) {
    tf.registerKernel({ kernelName: RELU_GRAD_KERNEL, backendName: 'webgpu', kernelFunc: reluGrad as unknown as Parameters<Tf['registerKernel']>[0]['kernelFunc'] });
  }
  if (originals.has(tf)) return true;
  const original = originalGradient('Relu');
  if (original === undefined) return false;
  originals.set(tf, original);
  const gradFunc: GradFunc = (dy, saved, attrs) => {
    const x = saved[0];
    if (tf.getBackend() !== 'webgpu' || Array.isArray(dy) || x === undefined || x.dtype !== 'float32' || dy.dtype !== 'float32') {
      return original.gradFunc(dy, saved, attrs);
    }
    return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x } as never, {} as never) as Tensor };
  };
  tf.registerGradient({ ...original, gradFunc } as unknown as Parameters<Tf['registerGradient']>[0]);
  return true;
}

/** The Relu gradient as a family for ./register.ts (`DagReluGrad` in `off` keeps tfjs' gradient). */
export const RELU_GRAD_FAMILY = {
  name: 'relu-grad',
  register: (tf: Tf, off: ReadonlySet<string>): readonly string[] => (off.has(RELU_GRAD_KERNEL) || !registerReluGrad(tf) ? [] : [RELU_GRAD_KERNEL]),
};
