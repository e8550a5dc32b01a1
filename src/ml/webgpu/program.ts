/// <reference types="@webgpu/types" />
/**
 * How this project's WebGPU kernels run on tfjs' webgpu backend: our own WGSL,
 * our own bind-group layouts (several outputs per dispatch, which tfjs' program
 * model cannot express), recorded into the backend's own command encoder so that
 * ordering, buffer reuse and deferred disposal stay tfjs'.
 *
 * Bindings of every kernel: inputs (read-only storage) first, then outputs
 * (read-write storage), then one uniform buffer `u` of 32-bit scalars. WebGPU's
 * default limit is 8 storage buffers per stage and tfjs does not raise it, so no
 * kernel here binds more than 8.
 *
 * Every dispatch is reported to {@link onDagDispatch} listeners; ./dispatch-count.ts
 * adds them to tfjs' own program runs to count dispatches per training step.
 */

/** A tensor as kernels see it. */
export interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** The fields of tfjs-backend-webgpu 4.22's WebGPUBackend that our kernels use. */
export interface WebGpuBackendLike {
  device: GPUDevice;
  queue: GPUQueue;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  activeTimers?: unknown[] | null;
  tensorMap: { get(dataId: object): { resource: unknown; dtype: string } | undefined };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  uniformPendingDisposal: GPUBuffer[];
  makeTensorInfo(shape: number[], dtype: string): TensorInfo;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  disposeData(dataId: object, force?: boolean): boolean;
  runWebGPUProgram(...args: unknown[]): TensorInfo;
}

/** One uniform value: u32 by default, f32 when marked. */
export type Uniform = number | { f32: number };

/** A compiled kernel: the pipeline and its binding counts. */
interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  inputs: number;
  outputs: number;
}

const UNIFORM = 0x40;
const COPY_DST = 0x08;
const COMPUTE_STAGE = 0x4;

const pipelines = new WeakMap<GPUDevice, Map<string, Pipeline>>();

type Listener = (name: string) => void;
const listeners = new Set<Listener>();

/** Calls `fn(kernelName)` on every dispatch of our kernels until the returned function is called. */
export function onDagDispatch(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** WGSL declarations of the bindings: `inputs` read-only arrays, `outputs` read-write arrays, uniform struct `U`. */
export function bindingsWgsl(inputs: readonly string[], outputs: readonly string[], uniforms: readonly string[]): string {
  const lines: string[] = [];
  let b = 0;
  for (const n of inputs) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${n}: array<f32>;`);
  for (const n of outputs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${n}: array<f32>;`);
  lines.push(`struct U { ${uniforms.map((u) => `${u.includes(':') ? u : `${u}: u32`},`).join(' ')} }`);
  lines.push(`@group(0) @binding(${b}) var<uniform> u: U;`);
  return lines.join('\n');
}

/** Compiles (once per device and key) a kernel with `inputs` read-only and `outputs` read-write storage bindings. */
export function getPipeline(device: GPUDevice, key: string, inputs: number, outputs: number, code: () => string): Pipeline {
  let cache = pipelines.get(device);
  if (cache === undefined) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  if (inputs + outputs > 8) throw new Error(`kernel ${key}: ${inputs + outputs} storage bindings exceed WebGPU's default 8`);
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (let i = 0; i < inputs + outputs; i++) {
    entries.push({ binding: i, visibility: COMPUTE_STAGE, buffer: { type: i < inputs ? 'read-only-storage' : 'storage' } });
  }
  entries.push({ binding: inputs + outputs, visibility: COMPUTE_STAGE, buffer: { type: 'uniform' } });
  const layout = device.createBindGroupLayout({ entries });
  const module = device.createShaderModule({ code: code(), label: key });
  const pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: 'main' },
    label: key,
  });
  const p = { pipeline, layout, inputs, outputs };
  cache.set(key, p);
  return p;
}

/** A float32 output tensor of `shape`, its GPU buffer allocated. */
export function makeOutput(backend: WebGpuBackendLike, shape: number[]): TensorInfo {
  const t = backend.makeTensorInfo(shape, 'float32');
  backend.uploadToGPU(t.dataId);
  return t;
}

function bufferOf(backend: WebGpuBackendLike, t: TensorInfo): GPUBuffer {
  backend.uploadToGPU(t.dataId);
  const data = backend.tensorMap.get(t.dataId);
  const res = data?.resource;
  if (res === null || res === undefined || typeof (res as GPUBuffer).mapAsync !== 'function') {
    throw new Error('a WebGPU kernel input is not a GPU buffer (textures are not supported)');
  }
  return res as GPUBuffer;
}

/** Packs uniforms as 32-bit words (u32 or f32), padded to 16 bytes. */
function uniformBytes(values: readonly Uniform[]): ArrayBuffer {
  const words = Math.max(4, Math.ceil(values.length / 4) * 4);
  const buf = new ArrayBuffer(words * 4);
  const u32 = new Uint32Array(buf);
  const f32 = new Float32Array(buf);
  values.forEach((v, i) => {
    if (typeof v === 'number') u32[i] = v >>> 0;
    else f32[i] = v.f32;
  });
  return buf;
}

/** One dispatch of a kernel. */
export interface Dispatch {
  /** Kernel name for dispatch counts. */
  name: string;
  pipeline: Pipeline;
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  uniforms: readonly Uniform[];
  /** Workgroup counts (x, y, z); each at most 65535. */
  groups: readonly [number, number, number];
}

/**
 * Records one dispatch into the backend's current compute pass, as tfjs' own
 * programs are recorded (same encoder, same deferred-submit batching).
 */
export function dispatch(backend: WebGpuBackendLike, d: Dispatch): void {
  const { pipeline: p } = d;
  if (d.inputs.length !== p.inputs || d.outputs.length !== p.outputs) throw new Error(`kernel ${d.name}: binding count mismatch`);
  for (const g of d.groups) {
    if (!Number.isInteger(g) || g < 0 || g > 65535) throw new Error(`kernel ${d.name}: bad workgroup count ${d.groups.join('x')}`);
  }
  if (d.groups.some((g) => g === 0)) return;
  const ub = uniformBytes(d.uniforms);
  const uniform = backend.bufferManager.acquireBuffer(ub.byteLength, UNIFORM | COPY_DST);
  backend.queue.writeBuffer(uniform, 0, ub);
  backend.uniformPendingDisposal.push(uniform);
  const tensors = [...d.inputs, ...d.outputs];
  const entries: GPUBindGroupEntry[] = tensors.map((t, i) => ({ binding: i, resource: { buffer: bufferOf(backend, t) } }));
  entries.push({ binding: tensors.length, resource: { buffer: uniform } });
  for (const t of tensors) backend.commandQueueOwnedIds.add(t.dataId);
  const bindGroup = backend.device.createBindGroup({ layout: p.layout, entries });
  backend.ensureCommandEncoderReady();
  if (backend.computePassEncoder === null || backend.computePassEncoder === undefined) {
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass({});
  }
  const pass = backend.computePassEncoder;
  pass.setPipeline(p.pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
  backend.dispatchCountInPass++;
  for (const l of listeners) l(d.name);
  // tfjs submits every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (15) dispatches; keep that rhythm.
  if (backend.dispatchCountInPass >= 15) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** Splits `n` workgroups over x and y so that neither exceeds 65535; the kernel rebuilds the index as y * gx + x. */
export function spreadGroups(n: number): [number, number, number] {
  if (n <= 65535) return [n, 1, 1];
  const y = Math.ceil(n / 65535);
  return [Math.ceil(n / y), y, 1];
}

