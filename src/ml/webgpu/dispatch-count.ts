/**
 * Counts GPU dispatches on tfjs' webgpu backend: tfjs' own programs (every
 * `runWebGPUProgram` call with a non-empty output records exactly one dispatch) and
 * this project's kernels (./program.ts). Kernels that only share or re-view a buffer
 * (Identity, Reshape, same-dtype Cast) dispatch nothing and are not counted.
 */
import { onDagDispatch, type WebGpuBackendLike } from './program.ts';

/** Dispatches seen while counting, in total and by program (tfjs program class or our kernel name). */
export interface DispatchCount {
  total: number;
  byProgram: Map<string, number>;
}

/** Counts the dispatches `fn` causes on `backend` (a tfjs WebGPUBackend). */
export async function countDispatches<T>(backend: unknown, fn: () => T | Promise<T>): Promise<{ result: T; count: DispatchCount }> {
  const b = backend as WebGpuBackendLike;
  if (typeof b.runWebGPUProgram !== 'function') throw new Error('countDispatches needs the webgpu backend');
  const count: DispatchCount = { total: 0, byProgram: new Map() };
  const add = (name: string): void => {
    count.total++;
    count.byProgram.set(name, (count.byProgram.get(name) ?? 0) + 1);
  };
  const original = b.runWebGPUProgram;
  b.runWebGPUProgram = function (this: WebGpuBackendLike, ...args: unknown[]) {
    const program = args[0] as { outputShape?: number[]; constructor: { name: string } };
    const output = args[4] as { shape: number[] } | undefined;
    const shape = output?.shape ?? program.outputShape ?? [];
    if (shape.reduce((a, d) => a * d, 1) > 0) add(program.constructor.name);
    return original.apply(this, args);
  };
  const off = onDagDispatch(add);
  try {
    const result = await fn();
    return { result, count };
  } finally {
    off();
    b.runWebGPUProgram = original;
  }
}
