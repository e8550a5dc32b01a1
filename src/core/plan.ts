/**
 * The expanded, validated form of a pipeline file: what `loadPipeline` produces and
 * what the graph, cache and executor consume. Pure data, no behaviour.
 */
import type { AxisValue, Json, Resources, StageKind } from './contract.ts';

/** A position in the pipeline file, 1-based, for messages of the form file:line:col. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
  /** Length of the offending text on that line (for the caret underline); 1 when unknown. */
  length?: number;
}

/** An edge declaration `needs:` of a stage on another stage. */
export interface NeedDecl {
  /** Upstream stage name. */
  stage: string;
  /**
   * Extra filter on upstream axis values (`where: {freeze: false}`); on top of the
   * automatic match on axes both stages share.
   */
  where: Record<string, AxisValue[]>;
  /** Rename: upstream axis -> this stage's axis used for matching (`as: {source: model}`). */
  as: Record<string, string>;
  loc: SourceLocation;
}

/**
 * The `executor:` block (top level or per stage): the default executor of `dag run` and
 * the settings of Slurm jobs. Never part of a cache key.
 */
export interface ExecutorSettings {
  /** Default executor of `dag run` (top level only). */
  type?: 'local' | 'slurm';
  partition?: string;
  account?: string;
  qos?: string;
  /** Slurm time limit (`4:00:00`). */
  time?: string;
  /** Extra sbatch options, appended after the others. */
  sbatch?: string[];
  /** At most this many instances in one job array (top level only). */
  arrayMax?: number;
}

/** One stage as written in `pipeline.yaml`, after validation. */
export interface StageDecl {
  name: string;
  kind: string;
  /** Axis name -> ordered values. */
  matrix: Record<string, AxisValue[]>;
  /** Exclude rules with one value per axis (a rule written with lists is expanded into several). */
  exclude: Array<Record<string, AxisValue>>;
  needs: NeedDecl[];
  /** Raw params (may contain `${axis}` / `${axis.field}` references). */
  params: Record<string, Json>;
  resources: Required<Pick<Resources, 'gpu' | 'cpu'>> & Pick<Resources, 'memoryMb'>;
  seed: number;
  /** The stage's `executor:` overrides (empty when none). */
  executor: ExecutorSettings;
  loc: SourceLocation;
}

/** One runnable unit: a stage at one point of its matrix. */
export interface Instance {
  /** Stable id: `stage[axis=value,...]` with axes in matrix declaration order; `stage` when no matrix. */
  id: string;
  stage: string;
  kind: string;
  axes: Record<string, AxisValue>;
  /** Params after defaults and interpolation; `path` params made absolute. */
  params: Record<string, Json>;
  /** Absolute paths of `path` params (external inputs whose digests enter the key). */
  externalPaths: string[];
  /** Upstream instance ids, in a stable order. */
  deps: string[];
  resources: StageDecl['resources'];
  seed: number;
}

/** A loaded stage kind together with where it came from (for the code identity hash). */
export interface LoadedKind {
  kind: StageKind<any>;
  /** Absolute path of the module that defines it. */
  file: string;
  /** Absolute paths of its codeDeps. */
  codeDeps: string[];
}

/** The whole validated pipeline. */
export interface Plan {
  /** Absolute path of the pipeline file. */
  file: string;
  /** Directory of the pipeline file; relative paths resolve against it. */
  dir: string;
  /** Absolute path of the artifact store (`cache:` key, default `<dir>/cache`). */
  cacheDir: string;
  seed: number;
  /** Stages in declaration order. */
  stages: Map<string, StageDecl>;
  /** Stage names in dependency order (ties in declaration order): the order instances follow. */
  stageOrder: string[];
  /** Instances in a deterministic topological order. */
  instances: Map<string, Instance>;
  kinds: Map<string, LoadedKind>;
  /** The top-level `executor:` block (empty when absent). */
  executor: ExecutorSettings;
}
