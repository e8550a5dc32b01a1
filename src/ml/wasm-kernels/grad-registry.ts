/**
 * tfjs' gradient registry, for kernels here that replace a gradient (BatchNorm, Mean) and
 * must delegate to tfjs' own one when the backend is not wasm: that original is not exported.
 */

/** A tensor as gradient functions see it. */
export type Tensor = import('@tensorflow/tfjs').Tensor;
/** tfjs' gradient function signature. */
export type GradFunc = (dy: Tensor | Tensor[], saved: Tensor[], attrs: Record<string, unknown>) => Record<string, () => Tensor>;
/** One gradient registry entry. */
export interface GradConfig {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  gradFunc: GradFunc;
}

/** The registered gradient of `kernelName` (tfjs keeps its registries in a global Map). */
export function originalGradient(kernelName: string): GradConfig | undefined {
  const globals = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  const registry = globals?.get('gradRegistry') as Map<string, GradConfig> | undefined;
  return registry?.get(kernelName);
}
