/**
 * ROC AUC as scikit-learn's `roc_auc_score` (0.23), which produced every AUC of the study:
 * binary for the sigmoid heads, one-vs-rest weighted by prevalence for knee and ISIC.
 */
import { assertFinite, assertSameLength, StatsError } from './errors.ts';
import { toProbMatrix, type ProbsLike } from './predsim.ts';

/**
 * Binary ROC AUC of `scores` for `labels` in {0, 1} (1 = positive). Equal to sklearn's
 * trapezoidal area over the distinct thresholds, which is the Mann-Whitney statistic with a
 * tied positive/negative pair counting 1/2: (sum of positive mid-ranks - P(P+1)/2) / (P N).
 * Errors: a single class (STATS_SINGLE_CLASS, sklearn raises), labels other than 0/1,
 * mismatched lengths, NaN scores.
 */
export function rocAuc(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): number {
  assertSameLength(labels, scores, 'labels', 'scores');
  assertFinite(scores, 'scores');
  const n = labels.length;
  const pos = new Uint8Array(n);
  let P = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const v = y === true ? 1 : y === false ? 0 : (y as number);
    if (v !== 0 && v !== 1) throw new StatsError('STATS_BAD_ARGUMENT', `labels: sample ${i} is ${String(y)}; binary AUC needs 0/1 labels (1 = positive)`);
    pos[i] = v;
    P += v;
  }
  const N = n - P;
  if (P === 0 || N === 0) {
    throw new StatsError('STATS_SINGLE_CLASS', `ROC AUC is undefined: all ${n} labels are ${P === 0 ? 'negative (0)' : 'positive (1)'}; the fold needs both classes`);
  }
  return mannWhitneyAuc(pos, scores, P, N);
}

function mannWhitneyAuc(pos: Uint8Array, scores: ArrayLike<number>, P: number, N: number): number {
  const n = pos.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    const s = scores[order[i] as number] as number;
    let posInTie = 0;
    while (j < n && scores[order[j] as number] === s) {
      posInTie += pos[order[j] as number] as number;
      j++;
    }
    // ranks i+1 .. j share the mid-rank (i + 1 + j) / 2
    rankSumPos += (posInTie * (i + 1 + j)) / 2;
    i = j;
  }
  return (rankSumPos - (P * (P + 1)) / 2) / (P * N);
}

/** Averaging of the per-class one-vs-rest AUCs. */
export type OvrAverage = 'weighted' | 'macro';

/**
 * Multi-class ROC AUC, sklearn `roc_auc_score(y, P, multi_class='ovr', average=...)`: the
 * binary AUC of each class against the rest from its probability column, averaged with the
 * class supports as weights ('weighted', the study's choice) or equally ('macro').
 * As sklearn, the classes present in `labels` must be exactly the columns 0..C-1
 * (STATS_MISSING_CLASS otherwise) and each row of `probs` must sum to 1 within numpy
 * allclose tolerance (STATS_BAD_ARGUMENT otherwise).
 */
export function rocAucOvr(labels: ArrayLike<number>, probs: ProbsLike, opts: { average?: OvrAverage } = {}): { auc: number; perClass: number[]; support: number[] } {
  const average = opts.average ?? 'weighted';
  const p = toProbMatrix(probs, 'probs');
  assertSameLength(labels, { length: p.n }, 'labels', 'probs rows');
  const C = p.c;
  if (C < 2) throw new StatsError('STATS_BAD_ARGUMENT', `rocAucOvr needs an [N, C] probability matrix with C >= 2, found C = ${C}; use rocAuc for binary`);
  const support = new Array<number>(C).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= C) {
      throw new StatsError('STATS_BAD_ARGUMENT', `labels: sample ${i} is ${y}; expected a class index in 0..${C - 1}`);
    }
    support[y] = (support[y] as number) + 1;
  }
  const present = support.filter((s) => s > 0).length;
  if (present === 1) throw new StatsError('STATS_SINGLE_CLASS', `ROC AUC is undefined: all ${labels.length} labels are class ${support.findIndex((s) => s > 0)}`);
  if (present !== C) {
    const missing = support.flatMap((s, k) => (s === 0 ? [k] : []));
    throw new StatsError(
      'STATS_MISSING_CLASS',
      `one-vs-rest AUC: class(es) ${missing.join(', ')} have a probability column but no sample in this fold (sklearn: number of classes in y_true not equal to the number of columns)`,
    );
  }
  for (let i = 0; i < p.n; i++) {
    let s = 0;
    for (let k = 0; k < C; k++) s += p.data[i * C + k] as number;
    if (!(Math.abs(1 - s) <= 1e-8 + 1e-5 * Math.abs(s))) {
      throw new StatsError('STATS_BAD_ARGUMENT', `probs: row ${i} sums to ${s}; one-vs-rest AUC needs probabilities that sum to 1 (softmax outputs)`);
    }
  }
  const perClass: number[] = [];
  const col = new Float64Array(p.n);
  const pos = new Uint8Array(p.n);
  for (let k = 0; k < C; k++) {
    for (let i = 0; i < p.n; i++) {
      col[i] = p.data[i * C + k] as number;
      pos[i] = labels[i] === k ? 1 : 0;
    }
    const P = support[k] as number;
    perClass.push(mannWhitneyAuc(pos, col, P, p.n - P));
  }
  let auc: number;
  switch (average) {
    case 'weighted':
      auc = perClass.reduce((s, a, k) => s + a * (support[k] as number), 0) / p.n;
      break;
    case 'macro':
      auc = perClass.reduce((s, a) => s + a, 0) / C;
      break;
    default: {
      const never: never = average;
      throw new StatsError('STATS_BAD_ARGUMENT', `unknown average ${String(never)}`);
    }
  }
  return { auc, perClass, support };
}
