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
import type { Tf } from '../tf.ts';
import type { HeadKind } from './losses.ts';
import type { Net } from './net.ts';
import { phasePlan, resolveTrainParams, type TrainParams, type TrainParamsInput } from './params.ts';
import { evaluationMetrics } from './metrics.ts';
import { evaluate } from './evaluate.ts';
import { runPhase, type RunContext } from './phase.ts';
import { resumeRun, setWeightArrays } from './resume.ts';
import { buildNet, checkSet, fingerprintOf, resolvePreprocess } from './run-setup.ts';
import type { FinetuneOptions, FinetuneResult } from './run-types.ts';

export type { FinetuneOptions, FinetuneResult, ImageSet, InitSpec, ModelFactory, ModelSpec } from './run-types.ts';

/**
 * Train and evaluate one run (see the module comment). Resumes from `workDir`'s checkpoint
 * when it exists and matches this run's fingerprint; a finished checkpoint skips training.
 */
export async function finetune(tf: Tf, opts: FinetuneOptions): Promise<FinetuneResult> {
  const p = resolveTrainParams(opts.params ?? {});
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

  const { state, startPhase, resumePhase } = resumeRun(tf, net, p, phases, opts.workDir, fingerprint, log);
  const resumedEpochs = state.epochs;

  const n = opts.train.shape[0];
  const evalBatch = p.evalBatchSize ?? p.batchSize;
  const run: RunContext = {
    tf,
    net,
    p,
    pre,
    train: opts.train,
    val: opts.val,
    evalBatch,
    nBatches: Math.ceil(n / p.batchSize),
    fingerprint,
    workDir: opts.workDir,
    signal: opts.signal,
    log,
    progress,
  };
  for (let pi = startPhase; pi < phases.length; pi++) runPhase(run, state, phases, pi, pi === startPhase ? resumePhase : null);

  const { history, best, epochs } = state;
  // The evaluated and saved model is the best-validation checkpoint (ModelCheckpoint).
  if (state.bestWeights !== null) setWeightArrays(tf, net.model, state.bestWeights, 'best checkpoint');
  const final = evaluate(tf, net, opts.val, evalBatch, pre, p, { signal: opts.signal, what: 'evaluation of the best checkpoint', progress });
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

/** Re-exported so stage adapters need one import. */
export type { HeadKind, Net, TrainParams, TrainParamsInput };
