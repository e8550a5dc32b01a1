/**
 * The stage contract: what a stage kind declares and what it receives when one of
 * its instances runs. This is the only module that stage files (`stages/*.ts`) and
 * test-only stage kinds need from the engine.
 *
 * Rules every stage kind follows:
 * - the module default-exports a `StageKind` and imports nothing heavy at top level
 *   (tfjs, sharp, h5wasm load lazily inside `run`), because the main process imports
 *   every kind to validate `pipeline.yaml` and `dag run` on a warm cache must stay fast;
 * - `run` writes only into `ctx.outDir` (files, any sub-folders); the executor hashes
 *   them, stores them by digest and writes the run record after `run` resolves;
 * - problems the user can cause are thrown as `StageError` with a stable code and a
 *   message naming the file / row / layer; any other throw is reported as a bug.
 */

import type { Json } from './json.ts';

export type { Json };

/** A matrix axis value (`dataset=knee`, `fold=3`, `freeze=false`). */
export type AxisValue = string | number | boolean;

/** The declared type of one stage parameter; validation reports mismatches at file:line:col. */
export type ParamSpec =
  | { type: 'string'; doc: string; default?: string; enum?: readonly string[]; required?: boolean }
  | {
      type: 'number';
      doc: string;
      default?: number;
      min?: number;
      max?: number;
      integer?: boolean;
      required?: boolean;
    }
  | { type: 'boolean'; doc: string; default?: boolean; required?: boolean }
  /**
   * A file or folder outside the cache (a data set, a weights file). Resolved relative to
   * the pipeline file; its content digest (through the stat cache) enters the cache key.
   */
  | { type: 'path'; doc: string; required?: boolean; default?: string; mustExist?: 'file' | 'dir' | 'any' }
  | { type: 'array'; doc: string; items: ParamSpec; default?: Json[]; required?: boolean }
  | {
      type: 'object';
      doc: string;
      properties?: Readonly<Record<string, ParamSpec>>;
      /** Allow keys not listed in `properties` (default false: unknown keys are errors). */
      additional?: boolean;
      default?: Json;
      required?: boolean;
    }
  | { type: 'any'; doc: string; default?: Json; required?: boolean };

/** What an instance of a kind needs from the machine. */
export interface Resources {
  /** GPU cards; with no cards available the instance runs on a CPU slot instead. */
  gpu?: number;
  /** CPU slots (default 1). */
  cpu?: number;
  /** Informational memory estimate in MiB, shown by `dag show`. */
  memoryMb?: number;
}

/** One upstream instance's published outputs, as seen by a downstream stage. */
export interface UpstreamInput {
  /** Pipeline stage name (`finetune`), not the kind. */
  readonly stage: string;
  readonly kind: string;
  /** Instance id, e.g. `finetune[dataset=knee,source=imagenet,freeze=false,fold=3]`. */
  readonly id: string;
  readonly axes: Readonly<Record<string, AxisValue>>;
  /** Output path relative to the producer's outDir (`weights.h5`, `acts/conv1.npy`) -> absolute read-only path. */
  readonly files: Readonly<Record<string, string>>;
  /**
   * Output path -> sha256 of its content (already verified by the executor), so a stage that
   * records where its inputs came from need not re-read them.
   */
  readonly digests: Readonly<Record<string, string>>;
}

/** Progress a stage reports; rendered by the live terminal view and emitted as events. */
export interface Progress {
  done: number;
  total: number;
  /** Unit of done/total, e.g. `epoch`, `batch`, `image`. */
  unit?: string;
  /** Short free text, e.g. `loss 0.412`. */
  message?: string;
  /**
   * The whole instance's work, when done/total describe only a part of it (the batches of
   * one epoch): `done` units of `total`, where total counts the most that can remain (early
   * stopping may end sooner). Reporters take bars and ETAs from it when present.
   */
  overall?: { done: number; total: number };
}

/** What a kind's `preflight` sees: its instance, and every instance downstream of it. */
export interface PreflightContext<P = Record<string, unknown>> {
  readonly id: string;
  readonly params: P;
  readonly axes: Readonly<Record<string, Json>>;
  /** The pipeline folder (relative paths in params are already absolute). */
  readonly pipelineDir: string;
  /** Every instance downstream of this one (transitively), in plan order. */
  readonly downstream: ReadonlyArray<{ id: string; kind: string; params: Readonly<Record<string, Json>>; deps: readonly string[] }>;
}

/** The device an instance was given. `id` is the card id exported as CUDA_VISIBLE_DEVICES. */
export type DeviceAssignment = { type: 'cpu' } | { type: 'gpu'; id: string };

/** Everything an instance receives when it runs (inside its worker process). */
export interface StageContext<P = Record<string, unknown>> {
  readonly id: string;
  /** Pipeline stage name. */
  readonly stage: string;
  readonly kind: string;
  readonly axes: Readonly<Record<string, AxisValue>>;
  /** Parameters after defaults and `${...}` interpolation; `path` params are absolute. */
  readonly params: P;
  /** Outputs of every upstream instance this instance depends on. */
  readonly inputs: readonly UpstreamInput[];
  /** Write outputs here and only here. */
  readonly outDir: string;
  /**
   * A folder that survives a crash and a re-run with the same cache key (checkpoints for
   * resumable training). Deleted by the executor after the instance is published.
   */
  readonly workDir: string;
  /** The pipeline's seed (top-level `seed`, overridable per stage); part of the cache key. */
  readonly seed: number;
  readonly device: DeviceAssignment;
  /**
   * CPU slots the scheduler reserved for this instance: its `resources.cpu`, capped at
   * `--jobs`. A stage that runs threads of its own (preprocess's decoders) uses at most this many.
   */
  readonly cpus: number;
  /** Directory holding the pipeline file (for resolving user-relative paths in messages). */
  readonly pipelineDir: string;
  progress(p: Progress): void;
  /** Append a line to this instance's log (kept with its run record). */
  log(message: string): void;
  /** A warning: logged and shown in the run summary. */
  warn(message: string): void;
  /** Aborted on Ctrl-C / SIGTERM; long loops should check it between batches. */
  readonly signal: AbortSignal;
}

/** What a plan-time {@link StageKind.check} sees of one instance. */
export interface PlannedInstance<P = Record<string, unknown>> {
  readonly id: string;
  readonly stage: string;
  /** Parameters after defaults and interpolation; `path` params are absolute. */
  readonly params: P;
  /** Directory holding the pipeline file. */
  readonly pipelineDir: string;
}

/** A stage kind: one file in `stages/` (or a plugin module named in `pipeline.yaml`). */
export interface StageKind<P = Record<string, unknown>> {
  /** The name used in `uses:`. */
  readonly kind: string;
  /** One paragraph for `dag kinds` and the README. */
  readonly doc: string;
  /** Explicit code version; bump it to invalidate caches for changes outside `codeDeps`. */
  readonly version?: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** Default resources; a stage in `pipeline.yaml` may override with `resources:`. */
  readonly resources?: Resources;
  /**
   * Files or folders (relative to the project root, e.g. `src/stats`) whose contents form
   * this kind's code identity together with the stage file itself.
   */
  readonly codeDeps?: readonly string[];
  /**
   * Runtime facts that change results (e.g. the tensor backend that will be used), computed
   * cheaply in the main process without loading heavy libraries; enters the cache key.
   */
  runtimeKey?(env: { device: DeviceAssignment | 'any' }): Json;
  /**
   * Let the executor run several instances of this kind one after another in one worker
   * process (default false: a fresh process per instance). Only for cheap stages that keep
   * no state between runs; it saves the worker start-up (~0.3 s) per instance.
   */
  readonly reuseWorker?: boolean;
  /**
   * Optional check before anything runs (`dag status`): problems this instance will cause
   * downstream, found cheaply without running (e.g. a data set too small for the folds or
   * the CCA asked of it), one sentence each with the numbers. Shown as warnings; a check
   * that throws is reported as a warning too.
   */
  preflight?(ctx: PreflightContext<P>): Promise<string[]> | string[];
  /**
   * Cheap plan-time checks of one instance (its params against its input files and this
   * machine), run by `dag run` for every selected instance before anything runs. Each
   * returned string is one problem, reported as a configuration error (exit 2). Must not
   * write anything and must stay fast (no tensor library, no image decoding).
   */
  check?(inst: PlannedInstance<P>): string[];
  /**
   * For kinds with `resources.gpu`: null when an instance given these card ids computes on
   * them, else why it would not (e.g. "the tensor backend is wasm"). Asked at plan time; with
   * an explicit `--gpus` a reason is a configuration error, otherwise such instances run on
   * CPU slots and are recorded as `cpu`. Default: the kind uses its card.
   */
  gpuSupport?(cardIds: readonly string[]): string | null;
  /**
   * Files an instance will read that its params imply but do not name, e.g. the
   * `val_fold{k}.csv` files of a `splits` folder. The loader adds them to the instance's
   * external paths (so they enter its cache key and a missing one makes it "missing input")
   * and warns PATH_MISSING for each missing one at `param`, saying `why` it is needed.
   */
  requiredFiles?(params: Readonly<Record<string, Json>>): Array<{ param: string; path: string; why: string }>;
  run(ctx: StageContext<P>): Promise<void>;
}

/**
 * A failure the user can cause or fix (bad data, missing file, wrong weights). The executor
 * shows `code` and `message` without a stack trace; everything else is shown as a bug.
 */
export class StageError extends Error {
  override readonly name = 'StageError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }
}

/** Identity helper so stage files get full type inference: `export default defineStage({...})`. */
export function defineStage<P = Record<string, unknown>>(kind: StageKind<P>): StageKind<P> {
  return kind;
}
