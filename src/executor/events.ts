/**
 * Typed engine events. The scheduler emits them and never prints; reporters (live
 * terminal view, plain lines, NDJSON) render them. With `--reporter json` each event is
 * one JSON line, so this union is a public format: add fields, never rename them.
 */
import type { DeviceAssignment, Progress } from '../core/contract.ts';

/** Why an instance is going to run. */
export interface RunReason {
  kind: 'never-run' | 'changed' | 'forced' | 'corrupted';
  /** Human lines: `param epochs: 3 -> 5`, `upstream output changed: a[x=1]`. */
  details: string[];
}

/** Render a reason in one line for dry runs and logs. */
export function formatReason(r: RunReason): string {
  switch (r.kind) {
    case 'never-run':
      return 'never run';
    case 'forced':
      return 'forced';
    case 'corrupted':
      return `output corrupted (${r.details.join(', ')})`;
    case 'changed':
      return r.details.length ? r.details.join('; ') : 'changed';
    default: {
      const never: never = r.kind;
      throw new Error(`unhandled reason ${String(never)}`);
    }
  }
}

/** Totals of a run, carried by the summary event. */
export interface RunCounts {
  total: number;
  done: number;
  cached: number;
  failed: number;
  skipped: number;
}

/** One thing that happened during `dag run`. `t` is ms since the epoch. */
export type EngineEvent =
  | { type: 'plan'; t: number; total: number; ids: string[] }
  | { type: 'queued'; t: number; id: string; stage: string; reason: RunReason }
  | { type: 'waiting'; t: number; id: string; stage: string; on: string }
  /** Handed to a batch system: `executor` is `slurm`, `jobId` `4711` or `4711_3` (an array task). */
  | { type: 'submitted'; t: number; id: string; stage: string; executor: string; jobId: string; logPath: string }
  /** `jobId`/`host` only when it runs in a Slurm job. */
  | { type: 'started'; t: number; id: string; stage: string; device: DeviceAssignment; etaMs: number | null; jobId?: string; host?: string | null }
  | { type: 'progress'; t: number; id: string; stage: string; progress: Progress }
  | { type: 'log'; t: number; id: string; stage: string; level: 'info' | 'warn'; message: string }
  | { type: 'cached'; t: number; id: string; stage: string; key: string }
  | { type: 'done'; t: number; id: string; stage: string; key: string; durationMs: number; device: DeviceAssignment; outputs: number }
  | {
      type: 'failed';
      t: number;
      id: string;
      stage: string;
      durationMs: number;
      error: { code: string; message: string; stack?: string };
    }
  | { type: 'skipped'; t: number; id: string; stage: string; reason: string }
  | { type: 'summary'; t: number; counts: RunCounts; durationMs: number; warnings: Array<{ id: string; message: string }>; interrupted: boolean };

/** The `type` tags of EngineEvent. */
export type EngineEventType = EngineEvent['type'];

/** Where events go. */
export type EventSink = (e: EngineEvent) => void;
