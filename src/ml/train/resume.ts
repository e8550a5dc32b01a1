/**
 * Resuming a training run: the state the epoch loop carries (history, best checkpoint, epochs
 * done) and how it is restored from the per-epoch checkpoint in the run's work folder.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../tf.ts';
import { clearCheckpoint, loadCheckpoint, type LoadedCheckpoint } from './checkpoint.ts';
import { bestTracker, type BestState, type EarlyStoppingState } from './early-stopping.ts';
import { TrainError } from './errors.ts';
import type { HistoryRow } from './history.ts';
import type { Net } from './net.ts';
import type { phasePlan, TrainParams } from './params.ts';

/** What the epoch loop carries from epoch to epoch (and a checkpoint restores). */
export interface RunState {
  history: HistoryRow[];
  best: BestState;
  bestWeights: Float32Array[] | null;
  bestFile: string | null;
  /** Epochs done over all phases. */
  epochs: number;
}

/** The optimiser and early-stopping state of a phase interrupted mid-way. */
export interface PhaseResume {
  phaseEpochs: number;
  es: EarlyStoppingState;
  m: Float32Array[];
  v: Float32Array[];
  iterations: number;
}

/**
 * The state a run starts from: fresh, or restored from `workDir`'s checkpoint when it is
 * readable and has this run's fingerprint (otherwise the checkpoint is cleared).
 */
export function resumeRun(
  tf: Tf,
  net: Net,
  p: TrainParams,
  phases: ReturnType<typeof phasePlan>,
  workDir: string | undefined,
  fingerprint: string,
  log: (message: string) => void,
): { state: RunState; startPhase: number; resumePhase: PhaseResume | null } {
  let ck: LoadedCheckpoint | null = null;
  if (workDir !== undefined) {
    try {
      ck = loadCheckpoint(workDir);
    } catch (e) {
      log(`ignoring unreadable checkpoint in ${workDir}: ${(e as Error).message}`);
      ck = null;
    }
    if (ck !== null && ck.state.fingerprint !== fingerprint) {
      log(`checkpoint in ${workDir} belongs to a different run (params, model or data changed); starting afresh`);
      ck = null;
    }
    if (ck === null) clearCheckpoint(workDir);
  }

  const state: RunState = { history: [], best: bestTracker(p.checkpointMonitor), bestWeights: null, bestFile: null, epochs: 0 };
  let startPhase = 0;
  let resumePhase: PhaseResume | null = null;
  if (ck !== null) {
    const s = ck.state;
    setWeightArrays(tf, net.model, ck.arrays.weights, `checkpoint ${workDir}`);
    state.history = s.history;
    state.best = s.best;
    state.bestWeights = ck.best;
    state.bestFile = s.bestFile;
    state.epochs = s.epochs;
    if (s.phaseDone) startPhase = s.phase + 1;
    else {
      startPhase = s.phase;
      resumePhase = { phaseEpochs: s.phaseEpochs, es: s.earlyStopping, m: ck.arrays.m, v: ck.arrays.v, iterations: s.optimizerIterations };
    }
    log(`resuming after epoch ${state.epochs} (phase ${phases[Math.min(startPhase, phases.length - 1)]?.phase ?? '?'})`);
  }
  return { state, startPhase, resumePhase };
}

/** A copy of every weight of the model, in `model.weights` order. */
export function weightArrays(model: TF.LayersModel): Float32Array[] {
  return model.weights.map((w) => new Float32Array(w.read().dataSync() as Float32Array));
}

/** Writes weight arrays (from a checkpoint) into the model, checking count and sizes against `source`. */
export function setWeightArrays(tf: Tf, model: TF.LayersModel, arrays: readonly Float32Array[], source: string): void {
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
