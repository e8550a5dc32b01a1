/**
 * Kernels this project adds to (or replaces in) the tfjs wasm backend so that
 * conv nets train there, and fast: see ./conv-grads.ts for the design.
 */
import type { Tf } from '../backend.ts';
import { makeConvGradKernels } from './conv-grads.ts';

const registered = new WeakSet<object>();

/**
 * Registers this project's wasm kernels on `tf`'s kernel registry and returns
 * their names. Idempotent per tf instance. Must run after the wasm backend is
 * registered (it captures the backend's own Conv2D and BatchMatMul kernels).
 */
export function registerWasmKernels(tf: Tf): readonly string[] {
  const names = ['Conv2DBackpropInput', 'Conv2DBackpropFilter'];
  if (registered.has(tf)) return names;
  const { backpropInput, backpropFilter } = makeConvGradKernels(tf);
  const kernels = { Conv2DBackpropInput: backpropInput, Conv2DBackpropFilter: backpropFilter };
  for (const name of names) {
    // registerKernel refuses to overwrite silently: drop the built-in first.
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: kernels[name as keyof typeof kernels] as unknown as Parameters<Tf['registerKernel']>[0]['kernelFunc'],
    });
  }
  registered.add(tf);
  return names;
}
