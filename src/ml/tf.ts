/**
 * The type of the tfjs namespace, in a module of its own so that the WebAssembly kernels
 * (src/ml/wasm-kernels/) and the backend loader (src/ml/backend.ts) can both name it without
 * importing each other. Type-only: importing this file loads nothing.
 */

/** The `@tensorflow/tfjs` namespace (or a tfjs-node flavour of it). */
export type Tf = typeof import('@tensorflow/tfjs');
