/**
 * Instruments for the webgpu backend in benches: a count of every compute dispatch Dawn
 * records (tfjs' programs and this project's own kernels alike, by wrapping
 * `GPUComputePassEncoder.prototype.dispatchWorkgroups`), and GPU timestamps at phase
 * boundaries (an empty compute pass whose `timestampWrites` stamps the moment the GPU
 * reaches that point of tfjs' command stream), where the device has `timestamp-query`.
 */
import type { Tf } from '../src/ml/backend.ts';

/** Counts dispatches per label (the label is read from `phaseOf()` at each dispatch). */
export class DispatchCounter {
  readonly byPhase = new Map<string, number>();
  private restore: (() => void) | null = null;

  constructor(private readonly phaseOf: () => string) {}

  /** Starts counting (needs `globalThis.GPUComputePassEncoder`, set up by loadTf on webgpu). */
  install(): void {
    const ctor = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: Record<string, unknown> } }).GPUComputePassEncoder;
    if (!ctor) throw new Error('GPUComputePassEncoder is not defined: the webgpu backend is not running');
    const proto = ctor.prototype;
    const orig = proto['dispatchWorkgroups'] as (...a: number[]) => void;
    const counts = this.byPhase;
    const phaseOf = this.phaseOf;
    proto['dispatchWorkgroups'] = function (this: unknown, ...a: number[]) {
      const p = phaseOf();
      counts.set(p, (counts.get(p) ?? 0) + 1);
      return orig.apply(this, a);
    };
    this.restore = () => {
      proto['dispatchWorkgroups'] = orig;
    };
  }

  /** Stops counting. */
  uninstall(): void {
    this.restore?.();
    this.restore = null;
  }

  /** Total dispatches counted. */
  total(): number {
    let n = 0;
    for (const v of this.byPhase.values()) n += v;
    return n;
  }

  reset(): void {
    this.byPhase.clear();
  }
}

interface WebGpuBackendLike {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** GPU timestamps at labelled points of the command stream (null when the device lacks timestamp-query). */
export class GpuTimestamps {
  private readonly labels: string[] = [];
  private readonly querySet: GPUQuerySet;

  private constructor(
    private readonly backend: WebGpuBackendLike,
    private readonly capacity: number,
  ) {
    this.querySet = backend.device.createQuerySet({ type: 'timestamp', count: capacity });
  }

  /** A recorder on tf's active webgpu backend, or null without `timestamp-query`. */
  static create(tf: Tf, capacity = 16): GpuTimestamps | null {
    const b = tf.backend() as unknown as WebGpuBackendLike;
    if (!b.device?.features.has('timestamp-query')) return null;
    return new GpuTimestamps(b, capacity);
  }

  /** Stamps the moment the GPU reaches this point of the stream. */
  mark(label: string): void {
    if (this.labels.length >= this.capacity) throw new Error('GpuTimestamps: too many marks');
    const b = this.backend;
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    const pass = b.commandEncoder!.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: this.labels.length } });
    pass.end();
    this.labels.push(label);
  }

  /** Milliseconds between consecutive marks, as [label of the interval's end, ms]; clears the marks. */
  async read(): Promise<Array<[string, number]>> {
    const b = this.backend;
    const n = this.labels.length;
    const device = b.device;
    const resolve = device.createBuffer({ size: 8 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = device.createBuffer({ size: 8 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.commandEncoder!.resolveQuerySet(this.querySet, 0, n, resolve, 0);
    b.commandEncoder!.copyBufferToBuffer(resolve, 0, staging, 0, 8 * n);
    b.submitQueue();
    await staging.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    resolve.destroy();
    staging.destroy();
    const out: Array<[string, number]> = [];
    for (let i = 1; i < n; i++) out.push([this.labels[i]!, Number(t[i]! - t[i - 1]!) / 1e6]);
    this.labels.length = 0;
    return out;
  }
}
