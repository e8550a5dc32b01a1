/**
 * The executor interface. The scheduler decides WHAT is ready and what it needs (a
 * `Demand`: CPU slots, GPU cards, memory, time); an executor decides WHERE and runs one
 * instance there, reporting what happens through an `ExecListener`. Whatever the executor,
 * the instance runs through `runInstance` (run-instance.ts): the same lock, worker entry
 * point, publishing and run record, so cache semantics, events and reporters are the same
 * for `local` (worker processes on this machine) and `slurm` (one Slurm job per instance).
 */
import type { DeviceAssignment, Progress } from './contract.ts';
import type { InstanceSpec, RunOutcome } from './run-instance.ts';

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
