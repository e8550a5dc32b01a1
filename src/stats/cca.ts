/**
 * Canonical correlation analysis exactly as google/svcca `cca_core.get_cca_similarity`
 * (protocol.md section 8), the measure of layer similarity in the study. Inputs are
 * neurons x datapoints (the reference's orientation).
 */
import { StatsError } from './errors.ts';
import { allocStack, centeredCovariance, writeRows, type StackBuffer } from './covariance.ts';
import { assertUsableCovariance, cholesky, singularValues, solveLower, transpose } from './linalg.ts';
import { toMat, type MatLike } from './mat.ts';

/** Options of `ccaSimilarity`. */
export interface CcaOptions {
  /**
   * Ridge added to both (rescaled) covariance blocks, and the cut below which a neuron's
   * relative variance removes it. svcca's default is 0; the study passes 1e-12.
   */
  epsilon: number;
  /** Fraction of the coefficient sum kept by the thresholded `mean` (svcca default 0.98). */
  threshold?: number;
}

/** What `ccaSimilarity` returns (svcca's dict, minus the canonical directions). */
export interface CcaResult {
  /** Canonical correlations, descending (`cca_coef1`); `[0]` when no neuron is kept. */
  coefs: Float64Array;
  /** svcca's thresholded `mean`: mean of the first `thresholdCount` coefficients. */
  mean: number;
  /** Mean of all coefficients: `np.mean(cca_coef1)`, the number the study reports. */
  meanAll: number;
  /** Sum of the coefficients (svcca `sum`). */
  sum: number;
  /** How many leading coefficients `mean` averages (svcca's `sum_threshold` index, or all). */
  thresholdCount: number;
  /** Per neuron of X / Y: kept (relative variance >= epsilon) or removed (svcca x_idxs / y_idxs). */
  keptX: boolean[];
  keptY: boolean[];
  /** True when X or Y kept no neuron: svcca's `create_zero_dict` (coefs [0], all means 0). */
  zero: boolean;
}

/** Result of svcca's zero dict: returned, not thrown, because the reference returns it too. */
function zeroResult(keptX: boolean[], keptY: boolean[]): CcaResult {
  return { coefs: Float64Array.of(0), mean: 0, meanAll: 0, sum: 0, thresholdCount: 1, keptX, keptY, zero: true };
}

/**
 * CCA similarity of `acts1` (numx x m) and `acts2` (numy x m): canonical correlations and
 * their means, following svcca step by step: covariance over both stacks (1/(m-1),
 * float64), rescaling of each block by its largest absolute entry, removal of neurons whose
 * rescaled variance is below epsilon, ridge epsilon on the diagonal, inverse square roots,
 * singular values of invsqrt(Sxx) Sxy invsqrt(Syy).
 *
 * Errors (StatsError): different datapoint counts (STATS_LENGTH_MISMATCH); numx >= m, which
 * svcca asserts (STATS_TOO_FEW_DATAPOINTS; only acts1 is checked, as in the reference);
 * NaN/inf (STATS_NON_FINITE); a singular block, e.g. epsilon 0 with a constant neuron, where
 * svcca yields NaN or LinAlgError (STATS_SINGULAR); bad epsilon/threshold (STATS_BAD_ARGUMENT).
 */
export function ccaSimilarity(acts1: MatLike, acts2: MatLike, opts: CcaOptions): CcaResult {
  const X = toMat(acts1, 'acts1');
  const Y = toMat(acts2, 'acts2');
  checkCcaShapes(X.rows, X.cols, Y.rows, Y.cols);
  const buf = allocStack(X.rows + Y.rows, X.cols);
  writeRows(buf, 0, X, 'acts1');
  writeRows(buf, X.rows, Y, 'acts2');
  return ccaFromStack(buf, X.rows, Y.rows, opts);
}

/** Shape checks shared with `layerCca` (which fills the stack itself). */
export function checkCcaShapes(nx: number, mx: number, ny: number, my: number): void {
  if (mx !== my) {
    throw new StatsError('STATS_LENGTH_MISMATCH', `CCA: acts1 has ${mx} datapoints (columns) but acts2 has ${my}; both must be neurons x the same datapoints`);
  }
  if (nx === 0 || ny === 0) {
    throw new StatsError('STATS_BAD_ARGUMENT', `CCA: acts1 has ${nx} and acts2 ${ny} neurons (rows); both need at least one`);
  }
  if (!(nx < mx)) {
    throw new StatsError(
      'STATS_TOO_FEW_DATAPOINTS',
      `CCA: acts1 has ${nx} neurons but only ${mx} datapoints; svcca requires fewer neurons than datapoints (rows = neurons, columns = datapoints: transposed input?)`,
    );
  }
}

function checkOptions(opts: CcaOptions): number {
  const { epsilon } = opts;
  const threshold = opts.threshold ?? 0.98;
  if (!Number.isFinite(epsilon) || epsilon < 0) {
    throw new StatsError('STATS_BAD_ARGUMENT', `CCA: epsilon must be a finite number >= 0, got ${epsilon}`);
  }
  if (!(threshold > 0 && threshold <= 1)) {
    // threshold <= 0 makes svcca average zero coefficients (NaN)
    throw new StatsError('STATS_BAD_ARGUMENT', `CCA: threshold must be in (0, 1], got ${threshold}`);
  }
  return threshold;
}

/**
 * The CCA of a filled stack: rows 0..nx-1 are X, rows nx..nx+ny-1 are Y (not yet centred).
 * Exported for `layerCca`, which gathers activations straight into the stack.
 */
export function ccaFromStack(buf: StackBuffer, nx: number, ny: number, opts: CcaOptions): CcaResult {
  const threshold = checkOptions(opts);
  const { epsilon } = opts;
  const { cov } = centeredCovariance(buf);
  const p = nx + ny;
  const at = (i: number, j: number): number => cov[i * p + j] as number;

  // Rescale by the largest absolute entry of each diagonal block (= largest variance).
  let xmax = 0;
  let ymax = 0;
  for (let i = 0; i < nx; i++) for (let j = 0; j < nx; j++) xmax = Math.max(xmax, Math.abs(at(i, j)));
  for (let i = nx; i < p; i++) for (let j = nx; j < p; j++) ymax = Math.max(ymax, Math.abs(at(i, j)));

  // remove_small: |var_i / max| >= epsilon. An all-constant side has max 0; numpy's 0/0 = NaN
  // then fails the comparison, so that side keeps nothing (and we return the zero dict).
  const keptX: boolean[] = [];
  const keptY: boolean[] = [];
  for (let i = 0; i < nx; i++) keptX.push(xmax > 0 && Math.abs(at(i, i) / xmax) >= epsilon);
  for (let i = 0; i < ny; i++) keptY.push(ymax > 0 && Math.abs(at(nx + i, nx + i) / ymax) >= epsilon);
  const ix: number[] = [];
  const iy: number[] = [];
  keptX.forEach((k, i) => k && ix.push(i));
  keptY.forEach((k, i) => k && iy.push(nx + i));
  const kx = ix.length;
  const ky = iy.length;
  if (kx === 0 || ky === 0) return zeroResult(keptX, keptY);

  const sxx = new Float64Array(kx * kx);
  const syy = new Float64Array(ky * ky);
  const sxy = new Float64Array(kx * ky);
  const sxyScale = Math.sqrt(xmax * ymax);
  for (let a = 0; a < kx; a++) {
    for (let b = 0; b < kx; b++) sxx[a * kx + b] = at(ix[a] as number, ix[b] as number) / xmax;
    for (let b = 0; b < ky; b++) sxy[a * ky + b] = at(ix[a] as number, iy[b] as number) / sxyScale;
  }
  for (let a = 0; a < ky; a++) {
    for (let b = 0; b < ky; b++) syy[a * ky + b] = at(iy[a] as number, iy[b] as number) / ymax;
  }
  // svcca whitens with the symmetric inverse square roots of pinv(S); any whitening gives the
  // same singular values, and Cholesky is the cheapest stable one. The eigenvalue checks keep
  // the reference's failure cases (NaN / LinAlgError) as typed errors: a rank-deficient block
  // (STATS_RANK_DEFICIENT) and a singular one (STATS_SINGULAR).
  const m = buf.cols;
  assertUsableCovariance(sxx, kx, epsilon, m, 'CCA acts1');
  assertUsableCovariance(syy, ky, epsilon, m, 'CCA acts2');
  for (let a = 0; a < kx; a++) sxx[a * kx + a] = (sxx[a * kx + a] as number) + epsilon;
  for (let a = 0; a < ky; a++) syy[a * ky + a] = (syy[a * ky + a] as number) + epsilon;
  const lx = cholesky(sxx, kx, 'CCA acts1');
  const ly = cholesky(syy, ky, 'CCA acts2');
  // arr = Lx^-1 Sxy Ly^-T ; computed as (Ly^-1 (Lx^-1 Sxy)^T)^T, whose singular values we need
  const t = solveLower(lx, kx, sxy, ky); // kx x ky
  const arrT = solveLower(ly, ky, transpose(t, kx, ky), kx); // ky x kx
  const coefs = singularValues(arrT, ky, kx);

  let sum = 0;
  for (const s of coefs) sum += s;
  const count = sumThresholdCount(coefs, sum, threshold);
  let head = 0;
  for (let i = 0; i < count; i++) head += coefs[i] as number;
  return { coefs, mean: head / count, meanAll: sum / coefs.length, sum, thresholdCount: count, keptX, keptY, zero: false };
}

/**
 * svcca `sum_threshold`: the smallest i in 0..n-1 with sum(s[:i]) / sum(s) >= threshold, or
 * n when there is none (the reference's `None`, i.e. all coefficients). With threshold > 0
 * the answer is never 0, so the thresholded mean is always defined.
 */
export function sumThresholdCount(s: Float64Array, total: number, threshold: number): number {
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    if (acc / total >= threshold) return i;
    acc += s[i] as number;
  }
  return s.length;
}
