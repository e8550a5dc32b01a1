/**
 * The shapes of the preprocess step (src/data/preprocess.ts): its params, what it needs from
 * the stage context, and the manifest.json it writes.
 */
import type { DecodeMode } from './decode.ts';
import type { ResizeMethod } from './resize.ts';

/** The preprocess params (see the stage's params schema for their docs). */
export interface PreprocessParams {
  adapter: string;
  root?: string;
  size?: number | [number, number];
  folds?: number;
  splits?: string;
  resize?: ResizeMethod;
  on_bad_image?: 'error' | 'skip';
  subset?: number;
  subset_seed?: number;
  fold_seed?: number;
  class_names?: string[];
  thumbnails_per_class?: number;
  allow_truncated?: boolean;
  decode?: DecodeMode;
  [key: string]: unknown;
}

/** The manifest.json written next to the arrays. */
export interface Manifest {
  dataset: string;
  adapter: string;
  classes: string[];
  size: [number, number];
  count: number;
  perClass: Record<string, number>;
  groups: number | null;
  folds: number;
  foldSource: 'group-kfold' | 'stratified-kfold' | 'splits';
  foldCounts: number[];
  resize: ResizeMethod;
  /**
   * Present only for `decode: fast` (value 'fast'); absent means exact, so exact-mode
   * manifests keep their bytes and downstream caches survive by early cutoff.
   */
  decode?: DecodeMode;
  skipped: Array<{ path: string; reason: string }>;
  warnings: string[];
}

/** What the preprocess run needs from the stage context. */
export interface PreprocessEnv {
  outDir: string;
  dataset: string;
  progress(p: { done: number; total: number; unit?: string; message?: string }): void;
  log(message: string): void;
  warn(message: string): void;
  signal?: AbortSignal;
  /** Decode threads (the JPEG worker pool); default: every core. The stage passes its CPU slots. */
  threads?: number;
}
