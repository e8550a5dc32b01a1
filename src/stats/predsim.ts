/**
 * Prediction similarity of two classifiers (Mania et al., RT prediction_similarity.py,
 * protocol.md section 5): how often their errors agree, against the agreement expected if
 * their errors were independent.
 */
import { assertSameLength, StatsError } from './errors.ts';

/**
 * Class probabilities of N samples: a flat array (binary sigmoid outputs), nested rows, or
 * an n-d array `{ data, shape }` of shape [N], [N, 1] or [N, C] (as read from predictions.npy).
 */
export type ProbsLike =
  | readonly number[]
  | Float32Array
  | Float64Array
  | readonly (readonly number[])[]
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

/** A probability matrix normalised to N x C (C = 1 for a sigmoid output). */
export interface ProbMatrix {
  readonly n: number;
  readonly c: number;
  readonly data: ArrayLike<number>;
}

/** Normalises `ProbsLike` to N x C, rejecting ragged rows, bad shapes and NaN. */
export function toProbMatrix(p: ProbsLike, what: string): ProbMatrix {
  let out: ProbMatrix;
  if (p instanceof Float32Array || p instanceof Float64Array) out = { n: p.length, c: 1, data: p };
  else if (Array.isArray(p)) {
    if (p.length > 0 && Array.isArray(p[0])) {
      const rows = p as readonly (readonly number[])[];
      const c = rows[0]?.length ?? 0;
      const data = new Float64Array(rows.length * c);
      rows.forEach((r, i) => {
        if (r.length !== c) throw new StatsError('STATS_BAD_ARGUMENT', `${what}: row ${i} has ${r.length} values but row 0 has ${c}`);
        data.set(r, i * c);
      });
      out = { n: rows.length, c, data };
    } else out = { n: p.length, c: 1, data: p as readonly number[] };
  } else {
    const { data, shape } = p as { data: ArrayLike<number>; shape: readonly number[] };
    if (shape.length === 1) out = { n: shape[0] as number, c: 1, data };
    else if (shape.length === 2) out = { n: shape[0] as number, c: shape[1] as number, data };
    else throw new StatsError('STATS_BAD_ARGUMENT', `${what}: expected shape [N], [N, 1] or [N, C], found [${shape.join(', ')}]`);
    if (data.length !== out.n * out.c) {
      throw new StatsError('STATS_BAD_ARGUMENT', `${what}: shape [${shape.join(', ')}] needs ${out.n * out.c} values but data holds ${data.length}`);
    }
  }
  if (out.c < 1) throw new StatsError('STATS_BAD_ARGUMENT', `${what}: needs at least one probability column`);
  for (let i = 0; i < out.data.length; i++) {
    const v = out.data[i] as number;
    if (!Number.isFinite(v)) throw new StatsError('STATS_NON_FINITE', `${what}: sample ${Math.floor(i / out.c)}, column ${i % out.c} is ${v}`);
  }
  return out;
}

/** Hard predictions: p > 0.5 (strictly, as Keras binary accuracy and RT) for one column, else argmax (first maximum, as np.argmax). */
export function hardPredictions(p: ProbMatrix): Int32Array {
  const out = new Int32Array(p.n);
  for (let i = 0; i < p.n; i++) {
    if (p.c === 1) {
      out[i] = (p.data[i] as number) > 0.5 ? 1 : 0;
      continue;
    }
    let best = 0;
    let bv = p.data[i * p.c] as number;
    for (let k = 1; k < p.c; k++) {
      const v = p.data[i * p.c + k] as number;
      if (v > bv) {
        bv = v;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Independent-errors baseline: the paper's formula, or the reference code's (ImageNet accuracy used twice). */
export type SimilarityBaseline = 'paper' | 'code';

/** Result of `predictionSimilarity`. */
export interface PredictionSimilarity {
  /** P(errors agree): fraction of samples where both are right or both are wrong ("real"). */
  observed: number;
  /** Agreement expected from independent errors ("rand"), per `baseline`. */
  independent: number;
  baseline: SimilarityBaseline;
  /** Accuracies of model A (ImageNet in the study) and B (RadImageNet). */
  accuracyA: number;
  accuracyB: number;
  n: number;
}

/**
 * Prediction similarity of models A and B on the same labelled samples. Error indicators
 * e = (y != prediction); observed = mean(eA == eB) (two different wrong classes count as
 * agreeing, as in RT); independent = a1 a2 + (1 - a1)(1 - a2) ('paper', default) or
 * a1^2 + (1 - a1)^2 ('code', what RT computed for the reference "rand" values).
 * Errors: length / column mismatches, labels outside 0..C-1 (0/1 for one column), NaN, empty.
 */
export function predictionSimilarity(
  labels: ArrayLike<number>,
  probsA: ProbsLike,
  probsB: ProbsLike,
  opts: { baseline?: SimilarityBaseline } = {},
): PredictionSimilarity {
  const baseline = opts.baseline ?? 'paper';
  const a = toProbMatrix(probsA, 'probsA');
  const b = toProbMatrix(probsB, 'probsB');
  assertSameLength({ length: a.n }, labels, 'probsA', 'labels');
  assertSameLength({ length: b.n }, labels, 'probsB', 'labels');
  if (a.c !== b.c) throw new StatsError('STATS_LENGTH_MISMATCH', `probsA has ${a.c} columns but probsB has ${b.c}`);
  const n = labels.length;
  if (n === 0) throw new StatsError('STATS_BAD_ARGUMENT', 'predictionSimilarity: no samples');
  const classes = Math.max(2, a.c);
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new StatsError('STATS_BAD_ARGUMENT', `labels: sample ${i} is ${y}; expected a class index in 0..${classes - 1}`);
    }
  }
  const pa = hardPredictions(a);
  const pb = hardPredictions(b);
  let agree = 0;
  let rightA = 0;
  let rightB = 0;
  for (let i = 0; i < n; i++) {
    const ea = pa[i] !== labels[i];
    const eb = pb[i] !== labels[i];
    if (ea === eb) agree++;
    if (!ea) rightA++;
    if (!eb) rightB++;
  }
  const a1 = rightA / n;
  const a2 = rightB / n;
  let independent: number;
  switch (baseline) {
    case 'paper':
      independent = a1 * a2 + (1 - a1) * (1 - a2);
      break;
    case 'code':
      independent = a1 * a1 + (1 - a1) * (1 - a1);
      break;
    default: {
      const never: never = baseline;
      throw new StatsError('STATS_BAD_ARGUMENT', `unknown baseline ${String(never)}`);
    }
  }
  return { observed: agree / n, independent, baseline, accuracyA: a1, accuracyB: a2, n };
}
