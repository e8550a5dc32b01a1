/**
 * The executor interface. The scheduler decides WHAT is ready and what it needs (a
 * `Demand`: CPU slots, GPU cards, memory, time); an executor decides WHERE and runs one
 * instance there, reporting what happens through an `ExecListener`. Whatever the executor,
 * the instance runs through `runInstance` (run-instance.ts): the same lock, worker entry
 * point, publishing and run record, so cache semantics, events and reporters are the same
 * for `local` (worker processes on this machine) and `slurm` (one Slurm job per instance).
 */
import type { AxisValue, DeviceAssignment, Json, Progress, UpstreamInput } from '../core/contract.ts';
import type { CacheKey, Digest } from '../cache/digest.ts';
import type { KeyPreimage } from '../cache/key.ts';
import type { LockOwner } from '../cache/lock.ts';
import type { RunRecord } from '../cache/store.ts';

/**
 * Everything needed to run one instance, as plain JSON (it travels to Slurm jobs in a
 * file): what the scheduler knew when the instance became ready.
 */
export interface InstanceSpec {
  id: string;
  stage: string;
  kind: string;
  key: CacheKey;
  preimage: KeyPreimage;
  /** `--force`: run even when a record for the key exists. */
  forced: boolean;
  /** Module of the stage kind (absolute path and file URL). */
  kindFile: string;
  moduleUrl: string;
  /** The kind allows running several instances in one worker process. */
  reuse: boolean;
  axes: Record<string, AxisValue>;
  params: Record<string, Json>;
  inputs: UpstreamInput[];
  seed: number;
  pipelineDir: string;
  /** External inputs with the digests that entered the key (re-checked after the run). */
  externals: Array<{ path: string; label: string; digest: string }>;
  /** Per-file listings of small external folders, already stored as objects. */
  externalFiles?: Record<string, Digest>;
}

/** How running an instance ended. */
export type RunOutcome =
  | { state: 'busy'; owner: LockOwner | undefined }
  | { state: 'cached'; record: RunRecord }
  | { state: 'done'; record: RunRecord }
  | { state: 'failed'; code: string; message: string; stack?: string; durationMs: number; logPath?: string }
  | { state: 'interrupted' };

/** What one instance needs from the machine that runs it. */
export interface Demand {
  /** CPU slots (cores). */
  cpu: number;
  /** GPU cards (0 or 1 today: an instance never shares a card). */
  gpu: number;
  /** Memory in MiB, when the stage declares it. */
  memoryMb?: number;
  /** Wall-time limit (Slurm syntax, `4:00:00`) from the stage's `executor.time`; local runs ignore it. */
  time?: string;
}

/** Where a running instance is, for the live view, `dag status` and `dag log` (Slurm jobs). */
export interface Placement {
  /** `4711` or `4711_3` for a task of a job array. */
  jobId: string;
  /** Where the job's stdout/stderr go. */
  logPath: string;
  host?: string;
}

/** Callbacks of a running instance. */
export interface ExecListener {
  /** Handed to the executor's queue (a Slurm job was submitted). */
  submitted?(where: Placement): void;
  /** It started on `device` (and, under Slurm, in that job on that host). */
  started(device: DeviceAssignment, where?: Placement): void;
  progress(p: Progress): void;
  log(level: 'info' | 'warn', message: string): void;
}

/** One instance to run. */
export interface ExecRequest {
  spec: InstanceSpec;
  demand: Demand;
  listener: ExecListener;
}

/** An executor: runs instances somewhere and reports back. */
export interface Executor {
  /** `local` or `slurm` (shown in messages). */
  readonly name: string;
  /**
   * Run one instance. Resolves with how it ended: `busy` when another process holds its
   * lock (the scheduler waits for that lock and looks for the record), `cached` when a
   * record appeared meanwhile, `done`, `failed` or `interrupted`.
   */
  run(req: ExecRequest): Promise<RunOutcome>;
  /** Ctrl-C / SIGTERM: stop what runs (kill workers, `scancel` jobs). */
  cancelAll(): void | Promise<void>;
  /** The run is over: release idle workers, stop watchers. */
  close(): void | Promise<void>;
}
