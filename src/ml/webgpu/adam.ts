/**
 * A fused multi-tensor Keras-Adam update for tfjs' webgpu backend: ONE compute dispatch
 * updates every variable of a group (all of ResNet50's 23.5 M weights fit one group on any
 * adapter with >= 128 MiB storage bindings), instead of ~10 elementwise kernels per
 * variable, each with JS-number operands uploaded as fresh scalar tensors (measured on an
 * H200: ~1 s per step for 161 variables op by op; see docs/ml-runtime.md).
 *
 * Kernel `DagKerasAdamMulti`: inputs `m`, `v` (the optimizer's flat first/second moments
 * for the group, updated IN PLACE: they are private to ../train/adam.ts and never shared),
 * `x0..x{n-1}` (the variables) and `g0..g{n-1}` (their gradients), attrs lrT, beta1,
 * beta2, epsilon, count. Returns the n updated variables in NEW buffers (tfjs' webgpu
 * Identity shares buffers between clones, so a variable is never written in place).
 *
 * One step: copyBufferToBuffer of every gradient and variable into two flat scratch
 * buffers (copies, not dispatches), one dispatch (grid-stride loop), copies of the flat
 * result into the new variable buffers, all in tfjs' own command encoder so the order
 * with the surrounding tfjs kernels holds. The scalars travel in one uniform buffer.
 * Arithmetic: float32, the op-by-op order of ../train/adam.ts:
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*(g*g);  x = x - (m*lrT) / (sqrt(v) + eps)
 * (equal within float32 rounding: the shader compiler may contract a*b+c into an fma).
 */
import type { Tf } from '../tf.ts';

/** Name of the fused update kernel (webgpu only). */
export const ADAM_MULTI_KERNEL = 'DagKerasAdamMulti';

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend this kernel uses. */
export interface WebGpuBackendLike {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  tensorMap: { get(dataId: object): { resource: unknown } | undefined };
  commandQueueOwnedIds: WeakSet<object>;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  makeUniforms(u: Array<{ type: 'float32' | 'int32' | 'uint32'; data: number[] }>): { offset: number; size: number; buffer: GPUBuffer };
}

const WORKGROUP = 256;

const SHADER = /* wgsl */ `
struct Params { lr: f32, b1: f32, ob1: f32, b2: f32, ob2: f32, eps: f32, n: u32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> m: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let stride = groups.x * ${WORKGROUP}u;
  for (var i = gid.x; i < p.n; i += stride) {
    let gi = g[i];
    let mi = p.b1 * m[i] + p.ob1 * gi;
    let vi = p.b2 * v[i] + p.ob2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    x[i] = x[i] - (mi * p.lr) / (sqrt(vi) + p.eps);
  }
}`;

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();

function pipelineFor(device: GPUDevice): GPUComputePipeline {
  let p = pipelines.get(device);
  if (p === undefined) {
    p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
    pipelines.set(device, p);
  }
  return p;
}

/** Largest flat group (floats) one dispatch can bind on this device. */
export function maxGroupFloats(device: GPUDevice): number {
  return Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) / 4);
}

const sizeOf = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> };

/** The kernel function (see the module comment). */
export function adamMultiKernel({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const b = backend as WebGpuBackendLike;
  const count = attrs['count'] as number;
  const m = inputs['m']!;
  const v = inputs['v']!;
  const xs: TensorInfo[] = [];
  const gs: TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    xs.push(inputs[`x${i}`]!);
    gs.push(inputs[`g${i}`]!);
  }
  const total = sizeOf(m);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const n = sizeOf(xs[i]!);
    if (n === 0 || sizeOf(gs[i]!) !== n || xs[i]!.dtype !== 'float32' || gs[i]!.dtype !== 'float32') {
      throw new Error(`${ADAM_MULTI_KERNEL}: variable ${i} and its gradient must be non-empty float32 of equal size`);
    }
    sum += n;
  }
  if (sum !== total || sizeOf(v) !== total || m.dtype !== 'float32' || v.dtype !== 'float32') {
    throw new Error(`${ADAM_MULTI_KERNEL}: moments hold ${total}/${sizeOf(v)} floats, the variables ${sum}`);
  }
  if (total > maxGroupFloats(b.device)) throw new Error(`${ADAM_MULTI_KERNEL}: ${total} floats exceed one storage binding on this device`);
  const flatX = b.makeTensorInfo([total], 'float32');
  const flatG = b.makeTensorInfo([total], 'float32');
  const outs = xs.map((x) => b.makeTensorInfo([...x.shape], 'float32'));
  const all = [m, v, ...xs, ...gs, flatX, flatG, ...outs];
  for (const t of all) b.uploadToGPU(t.dataId);
  const buf = (t: TensorInfo): GPUBuffer => b.tensorMap.get(t.dataId)!.resource as GPUBuffer;
  const f = Math.fround;
  const b1 = attrs['beta1'] as number;
  const b2 = attrs['beta2'] as number;
  // The scalars as the op-by-op update's float32 scalar tensors hold them.
  const uniforms = b.makeUniforms([
    { type: 'float32', data: [f(attrs['lrT'] as number)] },
    { type: 'float32', data: [f(b1)] },
    { type: 'float32', data: [f(1 - b1)] },
    { type: 'float32', data: [f(b2)] },
    { type: 'float32', data: [f(1 - b2)] },
    { type: 'float32', data: [f(attrs['epsilon'] as number)] },
    { type: 'uint32', data: [total] },
    { type: 'uint32', data: [0] },
  ]);
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  const enc = b.commandEncoder!;
  let off = 0;
  for (let i = 0; i < count; i++) {
    const bytes = sizeOf(xs[i]!) * 4;
    enc.copyBufferToBuffer(buf(gs[i]!), 0, buf(flatG), off, bytes);
    enc.copyBufferToBuffer(buf(xs[i]!), 0, buf(flatX), off, bytes);
    off += bytes;
  }
  const pipeline = pipelineFor(b.device);
  const bindGroup = b.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: buf(flatX), size: total * 4 } },
      { binding: 1, resource: { buffer: buf(m), size: total * 4 } },
      { binding: 2, resource: { buffer: buf(v), size: total * 4 } },
      { binding: 3, resource: { buffer: buf(flatG), size: total * 4 } },
      { binding: 4, resource: { buffer: uniforms.buffer, offset: uniforms.offset, size: uniforms.size } },
    ],
  });
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.min(Math.ceil(total / WORKGROUP), b.device.limits.maxComputeWorkgroupsPerDimension));
  pass.end();
  off = 0;
  for (let i = 0; i < count; i++) {
    const bytes = sizeOf(xs[i]!) * 4;
    enc.copyBufferToBuffer(buf(flatX), off, buf(outs[i]!), 0, bytes);
    off += bytes;
  }
  for (const t of all) b.commandQueueOwnedIds.add(t.dataId);
  b.disposeData(flatX.dataId);
  b.disposeData(flatG.dataId);
  // The end of a training step: hand the step's work to the GPU now.
  b.submitQueue();
  return outs;
}

/** The family entry for ./register.ts. */
export const ADAM_FAMILY = {
  name: 'adam',
  register(tf: Tf, off: ReadonlySet<string>): readonly string[] {
    if (off.has(ADAM_MULTI_KERNEL)) return [];
    if (tf.getKernel(ADAM_MULTI_KERNEL, 'webgpu') === undefined) {
      tf.registerKernel({ kernelName: ADAM_MULTI_KERNEL, backendName: 'webgpu', kernelFunc: adamMultiKernel as unknown as Parameters<Tf['registerKernel']>[0]['kernelFunc'] });
    }
    return [ADAM_MULTI_KERNEL];
  },
};
