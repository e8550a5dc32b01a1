/**
 * Typed failures of the statistics core. Every function in `src/stats` reports a problem
 * the caller can cause (degenerate input, mismatched lengths, NaN) by throwing a
 * `StatsError` with a stable `code`; it never returns NaN. Stages catch it and turn it into
 * a `StageError` that names the file / layer / fold. Plain `Error`s are bugs.
 */

/** Stable codes of `StatsError`, one per kind of degenerate input. */
export type StatsErrorCode =
  /** Two arrays that must be paired element-wise have different lengths / datapoint counts. */
  | 'STATS_LENGTH_MISMATCH'
  /** A value is NaN or infinite. */
  | 'STATS_NON_FINITE'
  /** A shape or argument is invalid (nSplits < 2, empty input, wrong matrix layout, ...). */
  | 'STATS_BAD_ARGUMENT'
  /** GroupKFold: more splits than distinct groups (sklearn raises ValueError). */
  | 'STATS_TOO_FEW_GROUPS'
  /** StratifiedKFold: a class has fewer members than splits, or more splits than samples. */
  | 'STATS_TOO_FEW_MEMBERS'
  /** AUC: the labels hold a single class, so the ROC curve is undefined. */
  | 'STATS_SINGLE_CLASS'
  /** One-vs-rest AUC: the labels miss a class that has a probability column (sklearn raises). */
  | 'STATS_MISSING_CLASS'
  /** A variable has zero variance where a slope or correlation needs it (OLS on constant x, Pearson r on constant y). */
  | 'STATS_CONSTANT'
  /** CCA: fewer datapoints than neurons (svcca asserts numx < m). */
  | 'STATS_TOO_FEW_DATAPOINTS'
  /** CCA: a covariance block is singular (epsilon 0 with a dead neuron); the reference gives NaN / LinAlgError. */
  | 'STATS_SINGULAR'
  /** CCA: a covariance block is rank-deficient (more neurons than datapoints span, or dependent neurons); svcca fails or returns NaN. */
  | 'STATS_RANK_DEFICIENT'
  /** Regression / gain: fold keys that do not pair up. */
  | 'STATS_UNPAIRED';

/** A problem with the input of a statistics function; `code` is stable, `message` names the argument and the expected vs found value. */
export class StatsError extends Error {
  override readonly name = 'StatsError';
  constructor(
    readonly code: StatsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Type guard so callers can branch on `code` without `instanceof` gymnastics across module copies. */
export function isStatsError(e: unknown): e is StatsError {
  return e instanceof StatsError;
}

/** Throws STATS_NON_FINITE naming `what` and the first bad index, so NaN never propagates silently. */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new StatsError('STATS_NON_FINITE', `${what}: value at index ${i} is ${v}; expected a finite number`);
    }
  }
}

/** Throws STATS_LENGTH_MISMATCH when two paired arrays differ in length. */
export function assertSameLength(a: { length: number }, b: { length: number }, whatA: string, whatB: string): void {
  if (a.length !== b.length) {
    throw new StatsError(
      'STATS_LENGTH_MISMATCH',
      `${whatA} has ${a.length} entries but ${whatB} has ${b.length}; they must be paired one to one`,
    );
  }
}
