/**
 * The run's evaluation metrics (metrics.json): the paper's AUC of the best checkpoint on
 * the held-out fold (sklearn `roc_auc_score`: binary on P(class 1), or one-vs-rest weighted
 * by class support for multi-class; protocol.md §3) and Keras's accuracy.
 */
import { rocAuc, rocAucOvr } from '../../stats/auc.ts';
import { StatsError } from '../../stats/errors.ts';
import type { HistoryRow } from './history.ts';
import type { HeadKind } from './losses.ts';

/** What metrics.json holds. */
export interface RunMetrics {
  /** ROC AUC of the evaluated (best) model on the held-out set; null if undefined (see aucNote). */
  auc: number | null;
  /** Why `auc` is null (e.g. STATS_SINGLE_CLASS), else null. */
  aucNote: string | null;
  /** 'binary' or 'ovr-weighted' (sklearn multi_class='ovr', average='weighted'). */
  aucKind: 'binary' | 'ovr-weighted';
  /** Keras 'acc' of the evaluated model (p > 0.5, or argmax). */
  accuracy: number;
  /** Validation loss of the evaluated model. */
  valLoss: number;
  /** 1-based epoch of the best checkpoint (null when no epoch ran). */
  bestEpoch: number | null;
  /** Epochs trained in total (all phases). */
  epochs: number;
  /** Epochs per phase. */
  phaseEpochs: Record<string, number>;
  head: HeadKind;
  classes: number;
  nTrain: number;
  nVal: number;
  seed: number;
}

/** Inputs of {@link evaluationMetrics}. */
export interface MetricsInput {
  head: HeadKind;
  classes: number;
  probs: Float32Array;
  labels: Int32Array;
  valLoss: number;
  accuracy: number;
  bestEpoch: number | null;
  epochs: number;
  history: readonly HistoryRow[];
  seed: number;
  nTrain: number;
}

/** Compute metrics.json's content; the AUCs come from src/stats/auc.ts. */
export function evaluationMetrics(m: MetricsInput): RunMetrics {
  const n = m.labels.length;
  const { auc, note } = aucOf(m.head, m.classes, m.probs, m.labels);
  const phaseEpochs: Record<string, number> = {};
  for (const r of m.history) phaseEpochs[r.phase] = (phaseEpochs[r.phase] ?? 0) + 1;
  return {
    auc,
    aucNote: note,
    aucKind: m.head === 'sigmoid' ? 'binary' : 'ovr-weighted',
    accuracy: m.accuracy,
    valLoss: m.valLoss,
    bestEpoch: m.bestEpoch,
    epochs: m.epochs,
    phaseEpochs,
    head: m.head,
    classes: m.classes,
    nTrain: m.nTrain,
    nVal: n,
    seed: m.seed,
  };
}

function aucOf(head: HeadKind, classes: number, probs: Float32Array, labels: Int32Array): { auc: number | null; note: string | null } {
  try {
    if (head === 'sigmoid') return { auc: rocAuc(labels, probs), note: null };
    return { auc: rocAucOvr(labels, { data: probs, shape: [labels.length, classes] }, { average: 'weighted' }).auc, note: null };
  } catch (e) {
    // A held-out set with one class (or a class without samples, for one-vs-rest) has no
    // AUC, as in sklearn; the run still reports accuracy and loss.
    if (e instanceof StatsError) return { auc: null, note: `${e.code}: ${e.message}` };
    throw e;
  }
}
