/**
 * The `local` executor: instances run in worker processes on this machine, bounded by the
 * CPU-slot and GPU-card pools. An instance with `gpu >= 1` takes one card (and no CPU
 * slot) when there are cards, otherwise CPU slots; the lock is taken only once the slot or
 * card is held, so another `dag run` on the same cache computes other instances meanwhile.
 */
import type { DeviceAssignment } from '../core/contract.ts';
import type { LocalCache } from '../cache/store.ts';
import type { ExecRequest, Executor } from './executor.ts';
import { GpuPool, SlotPool, type Release } from './pools.ts';
import { runInstance, type RunOutcome } from './run-instance.ts';
import { WorkerPool } from './worker-pool.ts';

/** Options of the local executor. */
export interface LocalOptions {
  cache: LocalCache;
  /** The pipeline folder (the workers' cwd). */
  cwd: string;
  /** CPU slots. */
  jobs: number;
  /** GPU card ids, resolved lazily (nvidia-smi is only asked when a GPU instance runs). */
  gpus: () => string[];
  signal?: AbortSignal;
}

/** Worker processes on this machine. */
export class LocalExecutor implements Executor {
  readonly name = 'local';
  private readonly cpu: SlotPool;
  private gpuPool: GpuPool | undefined;
  private readonly workers: WorkerPool;

  constructor(private readonly opts: LocalOptions) {
    this.cpu = new SlotPool(opts.jobs);
    this.workers = new WorkerPool(opts.cwd);
  }

  private gpuPoolOf(): GpuPool {
    return (this.gpuPool ??= new GpuPool(this.opts.gpus()));
  }

  /** Wait for what the instance needs: one card, or CPU slots. */
  private async reserve(gpu: number, cpu: number): Promise<{ device: DeviceAssignment; release: Release; cpus: number }> {
    if (gpu >= 1 && this.gpuPoolOf().ids.length > 0) {
      const card = await this.gpuPoolOf().acquire();
      return { device: { type: 'gpu', id: card.id }, release: card.release, cpus: Math.max(1, Math.min(cpu || 1, this.cpu.size)) };
    }
    const release = await this.cpu.acquire(cpu || 1);
    return { device: { type: 'cpu' }, release, cpus: Math.max(1, Math.min(cpu || 1, this.cpu.size)) };
  }

  async run(req: ExecRequest): Promise<RunOutcome> {
    const { device, release, cpus } = await this.reserve(req.demand.gpu, req.demand.cpu);
    try {
      if (this.opts.signal?.aborted) return { state: 'interrupted' };
      return await runInstance(req.spec, { cache: this.opts.cache, workers: this.workers, device, cpus, listener: req.listener, signal: this.opts.signal });
    } finally {
      release();
    }
  }

  cancelAll(): void {
    this.workers.killAll();
  }

  close(): void {
    this.workers.killAll(); // idle reusable workers
  }
}
