/**
 * Training parameters: the study's defaults (protocol.md §2, RT@PAPER), validation, and
 * the run's phase plan. Every divergence between paper and code is a parameter whose
 * default follows the paper / RT@PAPER; docs/ml-training.md lists them.
 */
import { type AugmentOptions, DEFAULT_AUGMENT } from './augment.ts';
import type { AdamConfig } from './adam.ts';
import type { Monitor } from './early-stopping.ts';
import { TrainError } from './errors.ts';
import type { Phase } from './history.ts';
import type { LossForm } from './losses.ts';
import { PREPROCESS_MODES, type PreprocessMode as InputMode } from '../preprocess-input.ts';

/**
 * Normalisation applied to augmented 0-255 batches: a src/ml/preprocess-input.ts mode
 * ('caffe' is the study's; 'radimagenet' = caffe then /255 as RadImageNet's own code;
 * 'none' feeds raw pixels).
 */
export type PreprocessMode = InputMode;

/** Every accepted {@link PreprocessMode}. */
export const TRAIN_PREPROCESS_MODES: readonly PreprocessMode[] = PREPROCESS_MODES;

/** Settings of the freeze strategy's head-only phase (RT@PAPER l.269-283). */
export interface HeadPhaseParams {
  /** Adam learning rate; the code compiles `Adam()`, i.e. 1e-3 (the paper says "same hyperparameters"). */
  lr: number;
  /** EarlyStopping patience (2 in RT@PAPER, 10 in RT@HEAD). */
  patience: number;
  /** EarlyStopping monitor ('val_acc' in the code). */
  monitor: Monitor;
  /** Epoch limit of this phase (the code passes args.epoch = 200). */
  maxEpochs: number;
}

/** All parameters of a training run. */
export interface TrainParams {
  /** Adam learning rate of the (final) all-layers phase. Default 1e-5. */
  lr: number;
  /** Images per batch (128 for 112/96-px datasets, 32 for 224-px ones). Default 128. */
  batchSize: number;
  /** Epoch limit of the all-layers phase. Default 200. */
  maxEpochs: number;
  /** EarlyStopping patience of the all-layers phase (3 in the paper/RT@PAPER, 30 in RT@HEAD). */
  patience: number;
  /** EarlyStopping monitor of the all-layers phase. Default 'val_loss'. */
  monitor: Monitor;
  /** Monitor of the best checkpoint (ModelCheckpoint save_best_only). Default 'val_loss'. */
  checkpointMonitor: Monitor;
  /** Freeze strategy: train the head first with the backbone frozen. Default false. */
  freeze: boolean;
  headPhase: HeadPhaseParams;
  /** Training augmentation, or null for none. Default: the study's (flip on). */
  augment: AugmentOptions | null;
  /** Input normalisation. Default 'caffe' (Keras `preprocess_input` default). */
  preprocess: PreprocessMode;
  /** Seed of every random choice (shuffle, augmentation, dropout; model init via the builder). */
  seed: number;
  /** Adam's other constants (Keras defaults). */
  adam: Omit<AdamConfig, 'lr'>;
  /**
   * BatchNorm mode while the backbone is trained: true = training mode (batch statistics,
   * moving averages updated), as the study's model does after unfreezing. Default true.
   */
  bnTraining: boolean;
  /** Cross-entropy form; 'logits' is what tf.keras computes inside fit(). */
  lossForm: LossForm;
  /** Batch size of validation/evaluation passes; null = batchSize. */
  evalBatchSize: number | null;
}

/** A partial, user-facing form: nested objects may be partial too; `flip` and `augment: false` are shortcuts. */
export type TrainParamsInput = Partial<Omit<TrainParams, 'headPhase' | 'augment' | 'adam'>> & {
  headPhase?: Partial<HeadPhaseParams>;
  augment?: Partial<AugmentOptions> | false | null;
  adam?: Partial<TrainParams['adam']>;
  /** Shortcut for `augment.flip` (false for the chest dataset). */
  flip?: boolean;
};

/** The study's defaults (protocol.md §2). */
export const DEFAULT_TRAIN_PARAMS: Readonly<TrainParams> = Object.freeze({
  lr: 1e-5,
  batchSize: 128,
  maxEpochs: 200,
  patience: 3,
  monitor: 'val_loss' as const,
  checkpointMonitor: 'val_loss' as const,
  freeze: false,
  headPhase: { lr: 1e-3, patience: 2, monitor: 'val_acc' as const, maxEpochs: 200 },
  augment: { ...DEFAULT_AUGMENT },
  preprocess: 'caffe' as const,
  seed: 0,
  adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  bnTraining: true,
  lossForm: 'logits' as const,
  evalBatchSize: null,
});

const MONITORS: readonly Monitor[] = ['val_loss', 'val_acc', 'loss', 'acc'];

/** Fill defaults and validate; every problem is a TrainError('BAD_PARAM') naming the key. */
export function resolveTrainParams(input: TrainParamsInput = {}): TrainParams {
  const d = DEFAULT_TRAIN_PARAMS;
  let augment: AugmentOptions | null;
  if (input.augment === false || input.augment === null) augment = null;
  else augment = { ...DEFAULT_AUGMENT, ...(input.augment ?? {}) };
  if (augment !== null && input.flip !== undefined) augment.flip = input.flip;
  const p: TrainParams = {
    lr: input.lr ?? d.lr,
    batchSize: input.batchSize ?? d.batchSize,
    maxEpochs: input.maxEpochs ?? d.maxEpochs,
    patience: input.patience ?? d.patience,
    monitor: input.monitor ?? d.monitor,
    checkpointMonitor: input.checkpointMonitor ?? d.checkpointMonitor,
    freeze: input.freeze ?? d.freeze,
    headPhase: { ...d.headPhase, ...(input.headPhase ?? {}) },
    augment,
    preprocess: input.preprocess ?? d.preprocess,
    seed: input.seed ?? d.seed,
    adam: { ...d.adam, ...(input.adam ?? {}) },
    bnTraining: input.bnTraining ?? d.bnTraining,
    lossForm: input.lossForm ?? d.lossForm,
    evalBatchSize: input.evalBatchSize ?? d.evalBatchSize,
  };
  const bad = (key: string, why: string): never => {
    throw new TrainError('BAD_PARAM', `training parameter ${key}: ${why}`);
  };
  const positive = (key: string, v: number): void => {
    if (!(Number.isFinite(v) && v > 0)) bad(key, `must be a positive number, got ${v}`);
  };
  const count = (key: string, v: number, min: number): void => {
    if (!(Number.isInteger(v) && v >= min)) bad(key, `must be an integer >= ${min}, got ${v}`);
  };
  positive('lr', p.lr);
  positive('headPhase.lr', p.headPhase.lr);
  count('batchSize', p.batchSize, 1);
  if (p.evalBatchSize !== null) count('evalBatchSize', p.evalBatchSize, 1);
  count('maxEpochs', p.maxEpochs, 0);
  count('headPhase.maxEpochs', p.headPhase.maxEpochs, 0);
  count('patience', p.patience, 0);
  count('headPhase.patience', p.headPhase.patience, 0);
  count('seed', p.seed, 0);
  for (const [k, m] of [['monitor', p.monitor], ['checkpointMonitor', p.checkpointMonitor], ['headPhase.monitor', p.headPhase.monitor]] as const) {
    if (!MONITORS.includes(m)) bad(k, `must be one of ${MONITORS.join(', ')}, got ${String(m)}`);
  }
  if (!TRAIN_PREPROCESS_MODES.includes(p.preprocess)) bad('preprocess', `must be one of ${TRAIN_PREPROCESS_MODES.join(', ')}, got ${p.preprocess}`);
  if (!['logits', 'clipped'].includes(p.lossForm)) bad('lossForm', `must be logits or clipped, got ${p.lossForm}`);
  if (!(p.adam.beta1 >= 0 && p.adam.beta1 < 1)) bad('adam.beta1', `must be in [0, 1), got ${p.adam.beta1}`);
  if (!(p.adam.beta2 >= 0 && p.adam.beta2 < 1)) bad('adam.beta2', `must be in [0, 1), got ${p.adam.beta2}`);
  positive('adam.epsilon', p.adam.epsilon);
  if (p.augment !== null) {
    const a = p.augment;
    if (!(a.rotation >= 0)) bad('augment.rotation', `must be >= 0 degrees, got ${a.rotation}`);
    if (!(a.widthShift >= 0)) bad('augment.widthShift', `must be >= 0, got ${a.widthShift}`);
    if (!(a.heightShift >= 0)) bad('augment.heightShift', `must be >= 0, got ${a.heightShift}`);
    if (!(a.shear >= 0)) bad('augment.shear', `must be >= 0 degrees, got ${a.shear}`);
    if (!(a.zoom.length === 2 && a.zoom[0] > 0 && a.zoom[1] >= a.zoom[0])) bad('augment.zoom', `must be [lo, hi] with 0 < lo <= hi, got [${a.zoom.join(', ')}]`);
    if (a.interpolation !== 'bilinear' && a.interpolation !== 'nearest') bad('augment.interpolation', `must be bilinear or nearest, got ${String(a.interpolation)}`);
  }
  return p;
}

/** One phase of a run. */
export interface PhasePlan {
  phase: Phase;
  lr: number;
  monitor: Monitor;
  patience: number;
  maxEpochs: number;
  /** Whether the backbone's variables are trained (false: frozen, BN in inference mode). */
  trainBackbone: boolean;
  /** Whether this phase tracks the best checkpoint (only the final phase, as in RT@PAPER). */
  checkpoint: boolean;
}

/** The phases of a run: [head, full] with the freeze strategy, else [full]. */
export function phasePlan(p: TrainParams): PhasePlan[] {
  const full: PhasePlan = { phase: 'full', lr: p.lr, monitor: p.monitor, patience: p.patience, maxEpochs: p.maxEpochs, trainBackbone: true, checkpoint: true };
  if (!p.freeze) return [full];
  const h = p.headPhase;
  return [{ phase: 'head', lr: h.lr, monitor: h.monitor, patience: h.patience, maxEpochs: h.maxEpochs, trainBackbone: false, checkpoint: false }, full];
}
