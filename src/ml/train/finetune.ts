/**
 * The study's training loop (protocol.md §2): fine-tune a classifier
 * `backbone -> Dropout -> Dense(sigmoid|softmax)` with Adam, early stopping, best-checkpoint
 * selection, the optional freeze strategy, Keras-equivalent augmentation, full seeding and
 * resumption from a per-epoch checkpoint. The `finetune` and `pretrain` stages are thin
 * adapters over `finetune()` + `writeRunOutputs()`.
 *
 * A custom loop (tf.variableGrads over explicit variable lists) replaces model.fit so that
 * this module controls the BatchNorm mode per phase, which variables are trained, the
 * dropout randomness, and every piece of state a resumed run must restore.
 */
import { createHash } from 'node:crypto';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backend.ts';
import type { Progress } from '../../executor/contract.ts';
import { KerasAdam } from './adam.ts';
import { gatherBatch } from './augment.ts';
import { clearCheckpoint, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from './checkpoint.ts';
import { bestStep, bestTracker, earlyStopping, earlyStoppingStep, type BestState, type EarlyStoppingState } from './early-stopping.ts';
import { TrainError } from './errors.ts';
import type { HistoryRow } from './history.ts';
import { countCorrect, crossEntropy, probabilities, type HeadKind } from './losses.ts';
import { backboneFeatures, describeNet, forward, headLogits, headVariables, variablesOf, type Net } from './net.ts';
import { phasePlan, resolveParams, type PreprocessMode, type TrainParams, type TrainParamsInput } from './params.ts';
import { epochOrder, stream } from './random.ts';
import { evaluationMetrics, type RunMetrics } from './metrics.ts';

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

type Preprocess = (x: TF.Tensor4D) => TF.Tensor4D;

async function resolvePreprocess(tf: Tf, mode: PreprocessMode): Promise<Preprocess> {
  if (mode === 'none') return (x) => x;
  const { preprocessInput } = await import('../preprocess-input.ts');
  return (x) => preprocessInput(tf, x, mode) as TF.Tensor4D;
}

async function buildNet(tf: Tf, model: ModelSpec | ModelFactory, seed: number): Promise<Net> {
  if (typeof model === 'function') return describeNet(tf, await model(tf, seed));
  const { buildResNet, buildClassifier } = await import('../resnet.ts');
  const [h, w] = typeof model.inputSize === 'number' ? [model.inputSize, model.inputSize] : model.inputSize;
  const backbone = buildResNet(tf, { variant: model.variant, inputShape: [h, w, 3], seed, ...(model.bnMomentum !== undefined ? { bnMomentum: model.bnMomentum } : {}) });
  const classifier = buildClassifier(tf, backbone, { classes: model.classes, dropout: model.dropout ?? 0.5, seed });
  const net = describeNet(tf, classifier);
  await loadInit(tf, net, model.init);
  return net;
}

async function loadInit(tf: Tf, net: Net, init: InitSpec): Promise<void> {
  switch (init.kind) {
    case 'random':
      return;
    case 'h5':
    case 'pretrain': {
      const { loadKerasWeights } = await import('../keras-h5.ts');
      try {
        // A pretrain weights.h5 also holds that run's head ('dense'), which is not loaded.
        await loadKerasWeights(net.backbone, init.path, { tf, ...(init.kind === 'pretrain' ? { allowExtra: true } : {}) });
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        throw new TrainError(
          'WEIGHTS_MISMATCH',
          `cannot initialise backbone '${net.backbone.name}' from ${init.path}: ${(e as Error).message}${typeof code === 'string' ? ` [${code}]` : ''}`,
        );
      }
      return;
    }
    default: {
      const never: never = init;
      throw new Error(`unknown init ${JSON.stringify(never)}`);
    }
  }
}

function checkSet(name: string, set: ImageSet, classes: number, inputShape: (number | null)[]): void {
  const [n, h, w, c] = set.shape;
  if (n === 0) throw new TrainError('EMPTY_SPLIT', `the ${name} split has no images`);
  if (set.images.length !== n * h * w * c) {
    throw new TrainError('BAD_INPUT_SHAPE', `${name} images: shape [${set.shape.join(', ')}] needs ${n * h * w * c} bytes, found ${set.images.length}`);
  }
  if (set.labels.length !== n) throw new TrainError('BAD_INPUT_SHAPE', `${name} labels: expected ${n} (one per image), found ${set.labels.length}`);
  const [mh, mw, mc] = inputShape;
  if ((mh != null && mh !== h) || (mw != null && mw !== w) || (mc != null && mc !== c)) {
    throw new TrainError('BAD_INPUT_SHAPE', `${name} images are ${h}x${w}x${c} but the model expects ${inputShape.map((d) => d ?? '?').join('x')}`);
  }
  for (let i = 0; i < n; i++) {
    const y = set.labels[i]!;
    if (!(y >= 0 && y < classes)) {
      throw new TrainError('LABEL_OUT_OF_RANGE', `${name} label ${y} at row ${i} is outside the head's classes 0..${classes - 1}`);
    }
  }
}

/** Identity of a run for resumption: params, model, data shapes and labels. */
function fingerprintOf(p: TrainParams, model: ModelSpec | ModelFactory, train: ImageSet, val: ImageSet, weightShapes: number[][]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ p, model: typeof model === 'function' ? 'factory' : model, train: train.shape, val: val.shape, weightShapes }));
  h.update(new Uint8Array(train.labels.buffer, train.labels.byteOffset, train.labels.byteLength));
  h.update(new Uint8Array(val.labels.buffer, val.labels.byteOffset, val.labels.byteLength));
  // A sparse sample of pixels catches a different data set without hashing gigabytes.
  for (const s of [train, val]) {
    const step = Math.max(1, Math.floor(s.images.length / 4096));
    for (let i = 0; i < s.images.length; i += step) h.update(s.images.subarray(i, i + 1));
  }
  return h.digest('hex');
}

function weightArrays(model: TF.LayersModel): Float32Array[] {
  return model.weights.map((w) => new Float32Array(w.read().dataSync() as Float32Array));
}

function setWeightArrays(tf: Tf, model: TF.LayersModel, arrays: readonly Float32Array[], source: string): void {
  const ws = model.weights;
  if (arrays.length !== ws.length) {
    throw new TrainError('CHECKPOINT_INVALID', `${source}: holds ${arrays.length} weight arrays, model '${model.name}' has ${ws.length}`);
  }
  ws.forEach((w, i) => {
    const size = w.shape.reduce<number>((a, b) => a * (b ?? 1), 1);
    if (arrays[i]!.length !== size) {
      throw new TrainError('CHECKPOINT_INVALID', `${source}: weight ${i} (${w.originalName}) has ${arrays[i]!.length} values, expected ${size} for shape [${w.shape.join(', ')}]`);
    }
  });
  tf.tidy(() => ws.forEach((w, i) => w.write(tf.tensor(arrays[i]!, w.shape as number[]))));
}

interface EvalResult {
  loss: number;
  acc: number;
  probs: Float32Array;
  units: number;
}

/** Evaluation batches are never augmented, so they never draw. */
const noRandom = (): (() => number) => {
  throw new Error('evaluation batches must not draw random numbers');
};

/** Hooks of an evaluation pass: cancellation and progress between batches. */
interface EvalHooks {
  signal: AbortSignal | undefined;
  /** What is being evaluated, for messages ("full epoch 3 validation"). */
  what: string;
  progress: (p: Progress) => void;
}

function evaluate(tf: Tf, net: Net, set: ImageSet, batchSize: number, pre: Preprocess, p: TrainParams, hooks: EvalHooks): EvalResult {
  const [n] = set.shape;
  const batches = Math.ceil(n / batchSize);
  const units = net.head === 'sigmoid' ? 1 : net.classes;
  const probs = new Float32Array(n * units);
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    if (hooks.signal?.aborted) throw new TrainError('ABORTED', `training aborted during ${hooks.what}; the last epoch checkpoint is kept`);
    const end = Math.min(n, start + batchSize);
    const idx = Array.from({ length: end - start }, (_, k) => start + k);
    const x = gatherBatch(set.images, set.shape, idx, null, noRandom);
    const [lossT, probT] = tf.tidy(() => {
      const xs = pre(tf.tensor4d(x, [end - start, set.shape[1], set.shape[2], set.shape[3]]));
      const logits = forward(tf, net, xs, { backboneTraining: false, dropout: null });
      const ys = tf.tensor1d(set.labels.subarray(start, end), 'int32');
      return [crossEntropy(tf, net.head, logits, ys, p.lossForm), probabilities(tf, net.head, logits)];
    });
    lossSum += (lossT.dataSync()[0] ?? NaN) * (end - start);
    probs.set(probT.dataSync() as Float32Array, start * units);
    tf.dispose([lossT, probT]);
    hooks.progress({ done: Math.ceil(end / batchSize), total: batches, unit: 'val batch', message: hooks.what });
  }
  const correct = countCorrect(net.head, probs, net.classes, set.labels);
  return { loss: lossSum / n, acc: correct / n, probs, units };
}

function monitored(row: Pick<HistoryRow, 'loss' | 'acc' | 'val_loss' | 'val_acc'>, m: EarlyStoppingState['monitor']): number {
  return row[m];
}

/**
 * Train and evaluate one run (see the module comment). Resumes from `workDir`'s checkpoint
 * when it exists and matches this run's fingerprint; a finished checkpoint skips training.
 */
export async function finetune(tf: Tf, opts: FinetuneOptions): Promise<FinetuneResult> {
  const p = resolveParams(opts.params ?? {});
  const log = opts.log ?? (() => {});
  const progress = opts.onProgress ?? (() => {});
  const net = await buildNet(tf, opts.model, p.seed);
  const spec = typeof opts.model === 'function' ? null : opts.model;
  if (spec !== null && spec.classes !== net.classes) throw new Error(`classifier has ${net.classes} classes, spec ${spec.classes}`);
  checkSet('train', opts.train, net.classes, net.inputShape);
  checkSet('validation', opts.val, net.classes, net.inputShape);
  const pre = await resolvePreprocess(tf, p.preprocess);
  const phases = phasePlan(p);
  const fingerprint = fingerprintOf(p, opts.model, opts.train, opts.val, net.model.weights.map((w) => w.shape as number[]));

  let ck: LoadedCheckpoint | null = null;
  if (opts.workDir !== undefined) {
    try {
      ck = loadCheckpoint(opts.workDir);
    } catch (e) {
      log(`ignoring unreadable checkpoint in ${opts.workDir}: ${(e as Error).message}`);
      ck = null;
    }
    if (ck !== null && ck.state.fingerprint !== fingerprint) {
      log(`checkpoint in ${opts.workDir} belongs to a different run (params, model or data changed); starting afresh`);
      ck = null;
    }
    if (ck === null) clearCheckpoint(opts.workDir);
  }

  let history: HistoryRow[] = [];
  let best: BestState = bestTracker(p.checkpointMonitor);
  let bestWeights: Float32Array[] | null = null;
  let bestFile: string | null = null;
  let epochs = 0;
  let startPhase = 0;
  let resumePhase: { phaseEpochs: number; es: EarlyStoppingState; m: Float32Array[]; v: Float32Array[]; iterations: number } | null = null;
  if (ck !== null) {
    const s = ck.state;
    setWeightArrays(tf, net.model, ck.arrays.weights, `checkpoint ${opts.workDir}`);
    history = s.history;
    best = s.best;
    bestWeights = ck.best;
    bestFile = s.bestFile;
    epochs = s.epochs;
    if (s.phaseDone) startPhase = s.phase + 1;
    else {
      startPhase = s.phase;
      resumePhase = { phaseEpochs: s.phaseEpochs, es: s.earlyStopping, m: ck.arrays.m, v: ck.arrays.v, iterations: s.optimizerIterations };
    }
    log(`resuming after epoch ${epochs} (phase ${phases[Math.min(startPhase, phases.length - 1)]?.phase ?? '?'})`);
  }
  const resumedEpochs = epochs;

  const [n, h, w, c] = opts.train.shape;
  const evalBatch = p.evalBatchSize ?? p.batchSize;
  const nBatches = Math.ceil(n / p.batchSize);
  // Whole-run work for honest ETAs: a training batch counts TRAIN_WORK units (forward and
  // backward), a validation batch one; the total is what remains at most (every phase to
  // its maxEpochs, then the final evaluation) and shrinks when early stopping ends a phase.
  const TRAIN_WORK = 3;
  const valBatches = Math.ceil(opts.val.shape[0] / evalBatch);
  const epochWork = TRAIN_WORK * nBatches + valBatches;
  let work = 0;
  let planned = 0;
  const replan = (pi: number, phaseEpochs: number): void => {
    let rest = valBatches;
    for (let j = pi; j < phases.length; j++) rest += (phases[j]!.maxEpochs - (j === pi ? phaseEpochs : 0)) * epochWork;
    planned = work + rest;
  };
  const report = (x: Progress, units: number): void => {
    work += units;
    progress({ ...x, overall: { done: work, total: Math.max(planned, work) } });
  };
  const evalProgress = (x: Progress): void => report(x, 1);
  replan(startPhase, resumePhase?.phaseEpochs ?? 0);

  for (let pi = startPhase; pi < phases.length; pi++) {
    const ph = phases[pi]!;
    const vars = ph.trainBackbone ? variablesOf(net.model.trainableWeights) : headVariables(net);
    const opt = new KerasAdam(tf, vars, { lr: ph.lr, ...p.adam });
    let es = earlyStopping(ph.monitor, ph.patience);
    let phaseEpochs = 0;
    if (resumePhase !== null) {
      opt.setState({ iterations: resumePhase.iterations, m: resumePhase.m, v: resumePhase.v });
      es = resumePhase.es;
      phaseEpochs = resumePhase.phaseEpochs;
      resumePhase = null;
    }
    try {
      while (phaseEpochs < ph.maxEpochs && !es.stopped) {
        replan(pi, phaseEpochs);
        const epoch = epochs + 1;
        const t0 = performance.now();
        const order = epochOrder(p.seed, epoch, n);
        let lossSum = 0;
        let correct = 0;
        for (let b = 0; b < nBatches; b++) {
          if (opts.signal?.aborted) {
            throw new TrainError('ABORTED', `training aborted in phase ${ph.phase}, epoch ${epoch}, before batch ${b + 1}/${nBatches}; the checkpoint after epoch ${epochs} is kept`);
          }
          const idx = order.subarray(b * p.batchSize, Math.min(n, (b + 1) * p.batchSize));
          const bs = idx.length;
          const x = gatherBatch(opts.train.images, opts.train.shape, idx, p.augment, (k) => stream(p.seed, 'augment', epoch, b * p.batchSize + k));
          const yArr = new Int32Array(bs);
          for (let k = 0; k < bs; k++) yArr[k] = opts.train.labels[idx[k]!]!;
          const { loss, probs } = trainStep(tf, net, opt, vars, x, [bs, h, w, c], yArr, pre, p, ph.trainBackbone, { seed: p.seed, epoch, batch: b });
          if (!Number.isFinite(loss)) {
            throw new TrainError('NAN_LOSS', `training loss became ${loss} in phase ${ph.phase}, epoch ${epoch}, batch ${b + 1}/${nBatches} (lr ${ph.lr}); the checkpoint after epoch ${epochs} is kept`);
          }
          lossSum += loss * bs;
          correct += countCorrect(net.head, probs, net.classes, yArr);
          const seen = Math.min(n, (b + 1) * p.batchSize);
          report({ done: b + 1, total: nBatches, unit: 'batch', message: `${ph.phase} epoch ${epoch} (${phaseEpochs + 1}/${ph.maxEpochs}) loss ${(lossSum / seen).toFixed(4)}` }, TRAIN_WORK);
        }
        const v = evaluate(tf, net, opts.val, evalBatch, pre, p, { signal: opts.signal, what: `${ph.phase} epoch ${epoch} validation`, progress: evalProgress });
        const row: HistoryRow = {
          epoch,
          phase: ph.phase,
          loss: lossSum / n,
          acc: correct / n,
          val_loss: v.loss,
          val_acc: v.acc,
          lr: ph.lr,
        };
        // Wall time goes to the log only: history.csv must not change between re-runs.
        const seconds = (performance.now() - t0) / 1000;
        history = [...history, row];
        es = earlyStoppingStep(es, monitored(row, ph.monitor));
        let newBest: Float32Array[] | null = null;
        if (ph.checkpoint) {
          const r = bestStep(best, monitored(row, best.monitor), epoch);
          best = r.state;
          if (r.save) newBest = weightArrays(net.model);
        }
        if (newBest !== null) bestWeights = newBest;
        phaseEpochs++;
        epochs = epoch;
        const phaseDone = es.stopped || phaseEpochs >= ph.maxEpochs;
        if (opts.workDir !== undefined) {
          const st = opt.getState();
          const saved = saveCheckpoint(
            opts.workDir,
            { fingerprint, phase: pi, phaseEpochs, epochs, phaseDone, earlyStopping: es, best, history, optimizerIterations: st.iterations, bestFile },
            { weights: weightArrays(net.model), m: st.m, v: st.v },
            newBest,
          );
          bestFile = saved.bestFile;
        }
        log(
          `epoch ${epoch} [${ph.phase}] loss ${row.loss.toFixed(4)} acc ${row.acc.toFixed(4)} val_loss ${row.val_loss.toFixed(4)} val_acc ${row.val_acc.toFixed(4)} (${seconds.toFixed(1)} s)` +
            (newBest !== null ? ' *best*' : '') +
            (es.stopped ? ` early stop (${ph.monitor}, patience ${ph.patience})` : ''),
        );
        if (es.stopped || phaseEpochs >= ph.maxEpochs) replan(pi + 1, 0);
        report({ done: phaseEpochs, total: ph.maxEpochs, unit: 'epoch', message: `${ph.phase} epoch ${epoch}: val_loss ${row.val_loss.toFixed(4)} val_acc ${row.val_acc.toFixed(4)}` }, 0);
      }
    } finally {
      opt.dispose();
    }
  }

  // The evaluated and saved model is the best-validation checkpoint (ModelCheckpoint).
  if (bestWeights !== null) setWeightArrays(tf, net.model, bestWeights, 'best checkpoint');
  replan(phases.length, 0);
  const final = evaluate(tf, net, opts.val, evalBatch, pre, p, { signal: opts.signal, what: 'evaluation of the best checkpoint', progress: evalProgress });
  const metrics = evaluationMetrics({
    head: net.head,
    classes: net.classes,
    probs: final.probs,
    labels: opts.val.labels,
    valLoss: final.loss,
    accuracy: final.acc,
    bestEpoch: best.epoch,
    epochs,
    history,
    seed: p.seed,
    nTrain: n,
  });
  return {
    net,
    model: net.model,
    params: p,
    history,
    best: { epoch: best.epoch, value: best.value, monitor: best.monitor },
    predictions: { probs: final.probs, shape: [opts.val.shape[0], final.units], labels: opts.val.labels },
    metrics,
    resumedEpochs,
    spec,
  };
}

function trainStep(
  tf: Tf,
  net: Net,
  opt: KerasAdam,
  vars: TF.Variable[],
  x: Float32Array,
  shape: [number, number, number, number],
  labels: Int32Array,
  pre: Preprocess,
  p: TrainParams,
  trainBackbone: boolean,
  at: { seed: number; epoch: number; batch: number },
): { loss: number; probs: Float32Array } {
  const xs = tf.tensor4d(x, shape);
  const ys = tf.tensor1d(labels, 'int32');
  // Frozen backbone: its features are computed outside the tape, BN in inference mode.
  const features = trainBackbone ? null : tf.tidy(() => backboneFeatures(net, pre(xs), false));
  let kept: TF.Tensor2D | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const mode = { backboneTraining: p.bnTraining, dropout: at };
    const logits = features === null ? forward(tf, net, pre(xs), mode) : headLogits(tf, net, features, mode);
    kept = tf.keep(logits);
    return crossEntropy(tf, net.head, logits, ys, p.lossForm);
  }, vars);
  opt.apply(vars.map((v) => grads[v.name] ?? null));
  const loss = value.dataSync()[0] ?? NaN;
  const probT = probabilities(tf, net.head, kept!);
  const probs = new Float32Array(probT.dataSync() as Float32Array);
  tf.dispose([xs, ys, value, probT, kept!, ...Object.values(grads)]);
  if (features !== null) features.dispose();
  return { loss, probs };
}

/** Re-exported so stage adapters need one import. */
export type { HeadKind, Net, TrainParams, TrainParamsInput };
