/**
 * One phase of a training run (the study trains the head, then everything, when it freezes;
 * one phase otherwise): its epochs of batches, each followed by validation, early stopping,
 * best-checkpoint tracking and the resume checkpoint.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';
import type { Progress } from '../../core/contract.ts';
import { KerasAdam } from './adam.ts';
import { gatherBatch } from './augment.ts';
import { saveCheckpoint } from './checkpoint.ts';
import { bestStep, earlyStopping, earlyStoppingStep, type EarlyStoppingState } from './early-stopping.ts';
import { TrainError } from './errors.ts';
import { evaluate } from './evaluate.ts';
import type { HistoryRow } from './history.ts';
import { countCorrect, crossEntropy, probabilities } from './losses.ts';
import { backboneFeatures, forward, headLogits, headVariables, variablesOf, type Net } from './net.ts';
import type { phasePlan, TrainParams } from './params.ts';
import { epochOrder, stream } from './random.ts';
import { weightArrays, type PhaseResume, type RunState } from './resume.ts';
import type { Preprocess } from './run-setup.ts';
import type { ImageSet } from './run-types.ts';

/** What stays fixed over a run's phases. */
export interface RunContext {
  tf: Tf;
  net: Net;
  p: TrainParams;
  pre: Preprocess;
  train: ImageSet;
  val: ImageSet;
  evalBatch: number;
  nBatches: number;
  fingerprint: string;
  workDir: string | undefined;
  signal: AbortSignal | undefined;
  log: (message: string) => void;
  progress: (p: Progress) => void;
}

/**
 * Runs phase `pi` until its epochs are done or early stopping ends it, updating `state` after
 * every epoch (and the checkpoint in `run.workDir`); `resumePhase` continues an interrupted one.
 */
export function runPhase(run: RunContext, state: RunState, phases: ReturnType<typeof phasePlan>, pi: number, resumePhase: PhaseResume | null): void {
  const ph = phases[pi]!;
  const [n, h, w, c] = run.train.shape;
  const vars = ph.trainBackbone ? variablesOf(run.net.model.trainableWeights) : headVariables(run.net);
  const opt = new KerasAdam(run.tf, vars, { lr: ph.lr, ...run.p.adam });
  let es = earlyStopping(ph.monitor, ph.patience);
  let phaseEpochs = 0;
  if (resumePhase !== null) {
    opt.setState({ iterations: resumePhase.iterations, m: resumePhase.m, v: resumePhase.v });
    es = resumePhase.es;
    phaseEpochs = resumePhase.phaseEpochs;
  }
  try {
    while (phaseEpochs < ph.maxEpochs && !es.stopped) {
      const epoch = state.epochs + 1;
      const t0 = performance.now();
      const order = epochOrder(run.p.seed, epoch, n);
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < run.nBatches; b++) {
        if (run.signal?.aborted) {
          throw new TrainError('ABORTED', `training aborted in phase ${ph.phase}, epoch ${epoch}, before batch ${b + 1}/${run.nBatches}; the checkpoint after epoch ${state.epochs} is kept`);
        }
        const idx = order.subarray(b * run.p.batchSize, Math.min(n, (b + 1) * run.p.batchSize));
        const bs = idx.length;
        const x = gatherBatch(run.train.images, run.train.shape, idx, run.p.augment, (k) => stream(run.p.seed, 'augment', epoch, b * run.p.batchSize + k));
        const yArr = new Int32Array(bs);
        for (let k = 0; k < bs; k++) yArr[k] = run.train.labels[idx[k]!]!;
        const { loss, probs } = trainStep(run.tf, run.net, opt, vars, x, [bs, h, w, c], yArr, run.pre, run.p, ph.trainBackbone, { seed: run.p.seed, epoch, batch: b });
        if (!Number.isFinite(loss)) {
          throw new TrainError('NAN_LOSS', `training loss became ${loss} in phase ${ph.phase}, epoch ${epoch}, batch ${b + 1}/${run.nBatches} (lr ${ph.lr}); the checkpoint after epoch ${state.epochs} is kept`);
        }
        lossSum += loss * bs;
        correct += countCorrect(run.net.head, probs, run.net.classes, yArr);
        const seen = Math.min(n, (b + 1) * run.p.batchSize);
        run.progress({ done: b + 1, total: run.nBatches, unit: 'batch', message: `${ph.phase} epoch ${epoch} (${phaseEpochs + 1}/${ph.maxEpochs}) loss ${(lossSum / seen).toFixed(4)}` });
      }
      // A finite loss at every batch does not prove the last update was finite: a huge lr
      // can turn the weights into NaN in the epoch's last step (Keras' TerminateOnNaN misses
      // that; we must not then report a silent success with val_loss NaN and auc null).
      const bad = firstNonFiniteWeight(run.tf, run.net.model);
      if (bad !== null) {
        throw new TrainError('NAN_LOSS', `weights became non-finite (${bad}) after the update of phase ${ph.phase}, epoch ${epoch}, batch ${run.nBatches}/${run.nBatches} (lr ${ph.lr}); the checkpoint after epoch ${state.epochs} is kept`);
      }
      const v = evaluate(run.tf, run.net, run.val, run.evalBatch, run.pre, run.p, { signal: run.signal, what: `${ph.phase} epoch ${epoch} validation`, progress: run.progress });
      if (!Number.isFinite(v.loss)) {
        throw new TrainError('NAN_LOSS', `validation loss became ${v.loss} in phase ${ph.phase}, epoch ${epoch} (after batch ${run.nBatches}/${run.nBatches}, lr ${ph.lr}); the checkpoint after epoch ${state.epochs} is kept`);
      }
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
      state.history = [...state.history, row];
      es = earlyStoppingStep(es, monitored(row, ph.monitor));
      let newBest: Float32Array[] | null = null;
      if (ph.checkpoint) {
        const r = bestStep(state.best, monitored(row, state.best.monitor), epoch);
        state.best = r.state;
        if (r.save) newBest = weightArrays(run.net.model);
      }
      if (newBest !== null) state.bestWeights = newBest;
      phaseEpochs++;
      state.epochs = epoch;
      const phaseDone = es.stopped || phaseEpochs >= ph.maxEpochs;
      if (run.workDir !== undefined) {
        const st = opt.getState();
        const saved = saveCheckpoint(
          run.workDir,
          { fingerprint: run.fingerprint, phase: pi, phaseEpochs, epochs: state.epochs, phaseDone, earlyStopping: es, best: state.best, history: state.history, optimizerIterations: st.iterations, bestFile: state.bestFile },
          { weights: weightArrays(run.net.model), m: st.m, v: st.v },
          newBest,
        );
        state.bestFile = saved.bestFile;
      }
      run.log(
        `epoch ${epoch} [${ph.phase}] loss ${row.loss.toFixed(4)} acc ${row.acc.toFixed(4)} val_loss ${row.val_loss.toFixed(4)} val_acc ${row.val_acc.toFixed(4)} (${seconds.toFixed(1)} s)` +
          (newBest !== null ? ' *best*' : '') +
          (es.stopped ? ` early stop (${ph.monitor}, patience ${ph.patience})` : ''),
      );
      run.progress({ done: phaseEpochs, total: ph.maxEpochs, unit: 'epoch', message: `${ph.phase} epoch ${epoch}: val_loss ${row.val_loss.toFixed(4)} val_acc ${row.val_acc.toFixed(4)}` });
    }
  } finally {
    opt.dispose();
  }
}

function monitored(row: Pick<HistoryRow, 'loss' | 'acc' | 'val_loss' | 'val_acc'>, m: EarlyStoppingState['monitor']): number {
  return row[m];
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


/** Name of the first weight holding NaN or infinity (e.g. `dense/kernel`), or null when all are finite. */
function firstNonFiniteWeight(tf: Tf, model: TF.LayersModel): string | null {
  for (const w of model.weights) {
    const t = w.read();
    if (t.dtype !== 'float32') continue;
    const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(t))).dataSync()[0]);
    if (bad) return w.originalName;
  }
  return null;
}
