/**
 * Params and cache-key runtime fields that every stage training a ResNet shares (`pretrain`,
 * `finetune`) or that every tfjs stage shares (`extract` too), declared once so the two
 * training stages cannot drift apart in defaults or documentation.
 */
import type { Json, ParamSpec } from '../core/contract.ts';
import { BackendError, describeBackendChoice, GPU_BACKENDS } from '../ml/backend.ts';
import { PREPROCESS_MODES, type PreprocessMode } from '../ml/preprocess-input.ts';

/**
 * The input normalisation param of `pretrain`, `finetune` and `extract`. `auto` (default)
 * follows the model: a pretrain source uses caffe (what the study's code applied to ImageNet,
 * RadImageNet and random init alike) unless its own `preprocess` says otherwise and records
 * the mode in model.json; a fine-tuning run inherits its source's mode (caffe for random
 * init), and extract its model's. So one setting per source, on `pretrain`, reaches every
 * stage that feeds that source's networks.
 */
export const PREPROCESS_PARAM = {
  type: 'string',
  doc: "Input normalisation: auto (the model's: a source's recorded mode, else caffe as the study's code), caffe (Keras ResNet50: BGR minus ImageNet means), radimagenet (caffe then /255, the RadImageNet authors' fine-tuning code), tf, torch, none (raw 0-255), unit (/255)",
  default: 'auto',
  enum: ['auto', ...PREPROCESS_MODES],
} as const satisfies ParamSpec;

/** The mode a `preprocess` param value means, given the mode the upstream model recorded (if any). */
export function resolvePreprocess(param: string, inherited: string | undefined): PreprocessMode {
  if (param !== 'auto') return param as PreprocessMode;
  return inherited !== undefined && (PREPROCESS_MODES as readonly string[]).includes(inherited) ? (inherited as PreprocessMode) : 'caffe';
}

/** Training params common to `pretrain` and `finetune`, with the study's defaults. */
export const SHARED_TRAINING_PARAMS = {
  augment: { type: 'boolean', doc: "Training augmentation (the study's rotation/shift/zoom/flip)", default: true },
  flip: { type: 'boolean', doc: 'Horizontal flips in augmentation (the paper: false for chest)', default: true },
  dropout: { type: 'number', doc: 'Dropout before the Dense head', default: 0.5, min: 0, max: 1 },
  preprocess: PREPROCESS_PARAM,
  bnTraining: {
    type: 'boolean',
    doc: 'BatchNorm in training mode (batch statistics) while the backbone trains, as the study; false keeps the moving statistics',
    default: true,
  },
  bnMomentum: {
    type: 'number',
    doc: 'BatchNorm moving-average momentum while training (Keras and the study: 0.99). Evaluation uses the moving statistics, so short runs need less (the default pipeline: 0.9); at 0.99 a few dozen steps leave them near their initial (0, 1) and held-out predictions near chance',
    default: 0.99,
    min: 0,
    max: 0.9999,
  },
} as const satisfies Record<string, ParamSpec>;

/** The shared params' values, as `ctx.params` carries them. */
export interface SharedTrainingValues {
  augment: boolean;
  flip: boolean;
  dropout: number;
  preprocess: string;
  bnTraining: boolean;
  bnMomentum: number;
}

/**
 * The shared params mapped onto the training loop's options: the model-spec part and the
 * training-params part, so both stages translate them the same way. `inheritedPreprocess`:
 * the mode the source model recorded, for `preprocess: auto`.
 */
export function sharedTrainingOptions(
  p: SharedTrainingValues,
  inheritedPreprocess?: string,
): {
  model: { dropout: number; bnMomentum: number };
  params: { augment: Record<string, never> | false; flip: boolean; preprocess: PreprocessMode; bnTraining: boolean };
} {
  return {
    model: { dropout: p.dropout, bnMomentum: p.bnMomentum },
    params: { augment: p.augment ? {} : false, flip: p.flip, preprocess: resolvePreprocess(p.preprocess, inheritedPreprocess), bnTraining: p.bnTraining },
  };
}

/**
 * The runtime fields of a tfjs stage's cache key: the backend that will compute (a native
 * TensorFlow and the wasm backend round differently), predicted without loading tfjs.
 */
export function tfRuntimeKey(): Json {
  const c = describeBackendChoice();
  if (!c.probes.some((p) => p.outcome.status === 'picked')) {
    // A backend named by DAG_BACKEND that this machine lacks: say so at plan time, not
    // after upstream work ran and the first training worker failed to load it.
    const why = c.probes.find((p) => p.backend === c.backend);
    throw new BackendError('BACKEND_UNAVAILABLE', `DAG_BACKEND=${c.preference} is not usable here: ${why && 'reason' in why.outcome ? why.outcome.reason : 'unavailable'}`);
  }
  return { backend: c.backend, backendVersion: c.backendVersion, tfjs: c.tfjsVersion };
}

/**
 * `StageKind.gpuSupport` of the tfjs stages: null when the backend that will compute uses
 * GPU cards and every requested id is one of the visible cards, else why not.
 */
export function tfGpuSupport(cardIds: readonly string[]): string | null {
  const c = describeBackendChoice();
  if (!GPU_BACKENDS.includes(c.backend)) {
    const gpuProbe = c.probes.find((p) => GPU_BACKENDS.includes(p.backend) && p.outcome.status !== 'picked');
    const why = gpuProbe && 'reason' in gpuProbe.outcome ? ` (${gpuProbe.backend}: ${gpuProbe.outcome.reason})` : '';
    return `its tensor backend is ${c.backend}, which computes on the CPU${why}`;
  }
  const n = c.gpu.cards.length;
  const unknown = cardIds.filter((id) => !(/^\d+$/.test(id) && Number(id) < n));
  if (unknown.length) return `card${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} not visible (${n} card${n === 1 ? '' : 's'}: ${n ? `0..${n - 1}` : 'none'})`;
  return null;
}
