/**
 * Gradient kernels that make the tfjs wasm backend able to train conv nets fast.
 * (First cut: registration entry point; the kernels land next.)
 */
import type { Tf } from '../backend.ts';

/** Registers this project's wasm kernels on `tf`'s engine; returns their names. Idempotent. */
export function registerWasmKernels(_tf: Tf): readonly string[] {
  return [];
}
