/**
 * The run's evaluation metrics (metrics.json): the paper's AUC of the best checkpoint on
 * the held-out fold (sklearn `roc_auc_score`: binary on P(class 1), or one-vs-rest weighted
 * by class support for multi-class; protocol.md §3) and Keras's accuracy.
 */
import type { HistoryRow } from './history.ts';
import type { HeadKind } from './losses.ts';

/** What metrics.json holds. */
export interface RunMetrics {
  /** ROC AUC of the evaluated (best) model on the held-out set; null if undefined (one class only). */
  auc: number | null;
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

/** Compute metrics.json's content; the AUCs come from src/stats (loaded lazily). */
export async function evaluationMetrics(m: MetricsInput): Promise<RunMetrics> {
  const n = m.labels.length;
  const auc = await aucOf(m.head, m.classes, m.probs, m.labels);
  const phaseEpochs: Record<string, number> = {};
  for (const r of m.history) phaseEpochs[r.phase] = (phaseEpochs[r.phase] ?? 0) + 1;
  return {
    auc,
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

async function aucOf(head: HeadKind, classes: number, probs: Float32Array, labels: Int32Array): Promise<number | null> {
  const present = new Set(labels);
  if (present.size < 2) return null;
  const fns = await loadAuc();
  if (fns === null) return null;
  const { rocAuc, rocAucOvr } = fns;
  if (head === 'sigmoid') return rocAuc(Array.from(labels), Array.from(probs));
  const rows: number[][] = [];
  for (let i = 0; i < labels.length; i++) rows.push(Array.from(probs.subarray(i * classes, (i + 1) * classes)));
  return rocAucOvr(Array.from(labels), rows, { average: 'weighted' });
}

type AucFns = {
  rocAuc: (labels: number[], scores: number[]) => number;
  rocAucOvr: (labels: number[], scores: number[][], opts: { average: 'weighted' }) => number;
};

/** The AUC functions of src/stats, or null while that module does not provide them. */
async function loadAuc(): Promise<AucFns | null> {
  const mod = (await import('../../stats/index.ts')) as unknown as Partial<AucFns>;
  if (typeof mod.rocAuc !== 'function' || typeof mod.rocAucOvr !== 'function') return null;
  return mod as AucFns;
}
