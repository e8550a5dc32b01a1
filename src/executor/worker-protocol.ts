/**
 * Messages between the scheduler and a worker process (over the fork IPC channel).
 * Kept in one small module so both sides agree on shapes.
 */
import type { AxisValue, DeviceAssignment, Json, Progress, UpstreamInput } from '../core/contract.ts';

/** The serialisable part of a StageContext. */
export interface WorkerContextData {
  id: string;
  stage: string;
  kind: string;
  axes: Record<string, AxisValue>;
  params: Record<string, Json>;
  inputs: UpstreamInput[];
  outDir: string;
  workDir: string;
  seed: number;
  device: DeviceAssignment;
  cpus: number;
  pipelineDir: string;
}

/** Scheduler -> worker. */
export type ToWorker =
  | {
      type: 'run';
      moduleUrl: string;
      ctx: WorkerContextData;
      /** Stay alive after this instance for the next one (kinds with `reuseWorker`). */
      keepAlive?: boolean;
    }
  | { type: 'abort' };

/** Worker -> scheduler. */
export type FromWorker =
  | { type: 'progress'; progress: Progress }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'done' }
  | { type: 'failed'; error: { code: string; message: string; stack?: string; stageError: boolean } };
