/**
 * The shapes a training run takes and gives back (`finetune()` in ./finetune.ts): the image
 * sets, the model to build, the initial weights, the options and the result.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';
import type { Progress } from '../../core/contract.ts';
import type { HistoryRow } from './history.ts';
import type { Net } from './net.ts';
import type { TrainParams, TrainParamsInput } from './params.ts';
import type { RunMetrics } from './metrics.ts';

/** A set of images with labels, as the preprocess stage writes them. */
export interface ImageSet {
  /** uint8 RGB pixels, NHWC, C order. */
  images: Uint8Array;
  shape: readonly [number, number, number, number];
  /** Class index per image (0..classes-1). */
  labels: Int32Array;
}

/** Where the initial weights come from. */
export type InitSpec =
  /** Keras default initialisers (glorot_uniform kernels, BN gamma 1 / beta 0), seeded. */
  | { kind: 'random' }
  /** A backbone-only Keras .h5 (ImageNet / RadImageNet `*_notop.h5`), loaded into the backbone. */
  | { kind: 'h5'; path: string }
  /** Our pretrain stage's weights.h5 (backbone + its own head): only the backbone layers are loaded. */
  | { kind: 'pretrain'; path: string };

/** The model to build through src/ml/resnet.ts. */
export interface ModelSpec {
  /** `resnet50` (the study), `resnet-mini`, `resnet-micro`, ... */
  variant: string;
  /** Square input size, or [height, width]. */
  inputSize: number | readonly [number, number];
  /** Number of classes (2: one sigmoid unit). */
  classes: number;
  init: InitSpec;
  /** Dropout rate before the Dense layer. Default 0.5 (RT@HEAD's random-init baseline: 0). */
  dropout?: number;
  /**
   * BatchNorm moving-average momentum used while training (Keras: 0.99, the default). Tiny
   * runs need less (e.g. 0.9): at 0.99 a few dozen steps leave the moving statistics, which
   * evaluation uses, far from the data's, and held-out predictions near chance.
   */
  bnMomentum?: number;
}

/** Builds a Keras-shaped classifier (tests, plugins); called again with the same seed on resume. */
export type ModelFactory = (tf: Tf, seed: number) => TF.LayersModel | Promise<TF.LayersModel>;

/** Everything a run needs. */
export interface FinetuneOptions {
  model: ModelSpec | ModelFactory;
  train: ImageSet;
  val: ImageSet;
  params?: TrainParamsInput;
  /** Folder for the resume checkpoint; without it the run cannot be resumed. */
  workDir?: string;
  /** Live progress (a stage passes ctx.progress). */
  onProgress?: (p: Progress) => void;
  /** Checked between batches; aborting throws TrainError('ABORTED') after keeping the last epoch checkpoint. */
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/** What a run produced (the evaluated model is the best-validation checkpoint). */
export interface FinetuneResult {
  net: Net;
  model: TF.LayersModel;
  params: TrainParams;
  history: HistoryRow[];
  best: { epoch: number | null; value: number | null; monitor: string };
  /** Held-out probabilities of the evaluated model: [n, 1] (sigmoid: P(class 1)) or [n, C]. */
  predictions: { probs: Float32Array; shape: [number, number]; labels: Int32Array };
  metrics: RunMetrics;
  /** Epochs restored from a checkpoint (0 for a fresh run). */
  resumedEpochs: number;
  spec: ModelSpec | null;
}
