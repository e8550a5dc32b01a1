/**
 * Params and cache-key runtime fields that every stage training a ResNet shares (`pretrain`,
 * `finetune`) or that every tfjs stage shares (`extract` too), declared once so the two
 * training stages cannot drift apart in defaults or documentation.
 */
import type { Json, ParamSpec } from '../core/contract.ts';
import { describeBackendChoice } from '../ml/backend.ts';

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
  return { backend: c.backend, backendVersion: c.backendVersion, tfjs: c.tfjsVersion };
}
