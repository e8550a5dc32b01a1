/**
 * Params and cache-key runtime fields that every stage training a ResNet shares (`pretrain`,
 * `finetune`) or that every tfjs stage shares (`extract` too), declared once so the two
 * training stages cannot drift apart in defaults or documentation.
 */
import type { Json, ParamSpec } from '../executor/contract.ts';
import { BackendError, describeBackendChoice, GPU_BACKENDS } from '../ml/backend.ts';

/** Training params common to `pretrain` and `finetune`, with the study's defaults. */
export const SHARED_TRAINING_PARAMS = {
  augment: { type: 'boolean', doc: "Training augmentation (the study's rotation/shift/zoom/flip)", default: true },
  flip: { type: 'boolean', doc: 'Horizontal flips in augmentation (the paper: false for chest)', default: true },
  dropout: { type: 'number', doc: 'Dropout before the Dense head', default: 0.5, min: 0, max: 1 },
  preprocess: { type: 'string', doc: 'Input normalisation (Keras preprocess_input mode; the study: caffe)', default: 'caffe', enum: ['caffe', 'tf', 'torch', 'none'] },
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
 * training-params part, so both stages translate them the same way.
 */
export function sharedTrainingOptions(p: SharedTrainingValues): {
  model: { dropout: number; bnMomentum: number };
  params: { augment: Record<string, never> | false; flip: boolean; preprocess: 'caffe'; bnTraining: boolean };
} {
  return {
    model: { dropout: p.dropout, bnMomentum: p.bnMomentum },
    // The param schema's enum restricts preprocess to the loop's modes.
    params: { augment: p.augment ? {} : false, flip: p.flip, preprocess: p.preprocess as 'caffe', bnTraining: p.bnTraining },
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
