/**
 * The small dense linear algebra of CCA (matrices of at most a few hundred rows), written
 * here instead of taken from ml-matrix because ml-matrix's decompositions cost more than the
 * whole 64 x 10,000 covariance pass (they compute vectors we do not need, through 2-D
 * arrays). Everything is values-only and backward stable:
 * - symmetric eigenvalues: Householder tridiagonalisation + implicit QL with Wilkinson shifts;
 * - singular values: Householder bidiagonalisation, then the eigenvalues of the
 *   Golub-Kahan tridiagonal [[0, B], [B^T, 0]] (= +-sigma), which avoids squaring;
 * - whitening: Cholesky factors and triangular solves.
 * Matrices are row-major Float64Arrays; inputs are never modified.
 */
import { StatsError } from './errors.ts';

const EPS = 2.220446049250313e-16;

/** Eigenvalues of a symmetric tridiagonal matrix (diagonal d, sub-diagonal e of length n-1), ascending. */
export function tridiagonalEigenvalues(diag: Float64Array, sub: Float64Array): Float64Array {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  e.set(sub.subarray(0, Math.max(0, n - 1)));
  let anorm = 0;
  for (let i = 0; i < n; i++) anorm = Math.max(anorm, Math.abs(d[i] as number) + Math.abs(e[i] as number) + (i > 0 ? Math.abs(e[i - 1] as number) : 0));
  const tiny = EPS * anorm;
  for (let l = 0; l < n; l++) {
    for (let iter = 0; ; iter++) {
      // find a negligible off-diagonal element at or after l
      let m = l;
      for (; m < n - 1; m++) {
        const em = Math.abs(e[m] as number);
        if (em <= tiny || em <= EPS * (Math.abs(d[m] as number) + Math.abs(d[m + 1] as number))) break;
      }
      if (m === l) break;
      if (iter === 100) throw new StatsError('STATS_SINGULAR', 'eigenvalue iteration did not converge (as LAPACK failing in the reference)');
      // implicit QL step with Wilkinson's shift on the block l..m
      let g = ((d[l + 1] as number) - (d[l] as number)) / (2 * (e[l] as number));
      let r = Math.sqrt(g * g + 1);
      g = (d[m] as number) - (d[l] as number) + (e[l] as number) / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * (e[i] as number);
        const b = c * (e[i] as number);
        r = Math.sqrt(f * f + g * g); // Math.hypot is slow in V8; CCA matrices are O(1), far from overflow
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] = (d[i + 1] as number) - p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = (d[i + 1] as number) - p;
        r = ((d[i] as number) - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] = (d[l] as number) - p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d.sort();
}

/** Eigenvalues of a symmetric n x n matrix, ascending (Householder tridiagonalisation + QL). */
export function symmetricEigenvalues(S: Float64Array, n: number): Float64Array {
  const A = Float64Array.from(S.subarray(0, n * n));
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const v = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // reflect x = A[k+1.., k] onto alpha * e1
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += (A[i * n + k] as number) ** 2;
    const x0 = A[(k + 1) * n + k] as number;
    if (norm2 === 0) {
      e[k] = 0;
      continue;
    }
    const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    e[k] = alpha;
    for (let i = k + 1; i < n; i++) v[i] = A[i * n + k] as number;
    v[k + 1] = x0 - alpha;
    const vtv = norm2 - x0 * x0 + (x0 - alpha) ** 2;
    if (vtv === 0) continue;
    const beta = 2 / vtv;
    // p = beta * A22 v ; K = beta/2 * v.p ; w = p - K v ; A22 -= v w^T + w v^T
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += (A[i * n + j] as number) * (v[j] as number);
      w[i] = beta * s;
      vp += (v[i] as number) * (w[i] as number);
    }
    const K = (beta / 2) * vp;
    for (let i = k + 1; i < n; i++) w[i] = (w[i] as number) - K * (v[i] as number);
    for (let i = k + 1; i < n; i++) {
      const vi = v[i] as number;
      const wi = w[i] as number;
      for (let j = k + 1; j < n; j++) A[i * n + j] = (A[i * n + j] as number) - vi * (w[j] as number) - wi * (v[j] as number);
    }
  }
  for (let i = 0; i < n; i++) d[i] = A[i * n + i] as number;
  if (n >= 2) e[n - 2] = A[(n - 1) * n + (n - 2)] as number;
  return tridiagonalEigenvalues(d, e);
}

/** Singular values of an r x c matrix, descending, min(r, c) of them (as `np.linalg.svd(a)[1]`). */
export function singularValues(A0: Float64Array, r0: number, c0: number): Float64Array {
  // work on the tall orientation (r >= c)
  const tall = r0 >= c0;
  const r = tall ? r0 : c0;
  const c = tall ? c0 : r0;
  const A = new Float64Array(r * c);
  for (let i = 0; i < r0; i++) {
    for (let j = 0; j < c0; j++) {
      if (tall) A[i * c + j] = A0[i * c0 + j] as number;
      else A[j * c + i] = A0[i * c0 + j] as number;
    }
  }
  const d = new Float64Array(c);
  const e = new Float64Array(Math.max(0, c - 1));
  const v = new Float64Array(Math.max(r, c));
  for (let k = 0; k < c; k++) {
    // left reflection: zero A[k+1.., k]
    d[k] = reflect(A, c, r, k, k, true, v);
    if (k < c - 1) {
      // right reflection: zero A[k, k+2..]
      e[k] = reflect(A, c, c, k, k + 1, false, v);
    }
  }
  // Golub-Kahan tridiagonal: zero diagonal, off-diagonal d0, e0, d1, e1, ..., d_{c-1}
  const n = 2 * c;
  const off = new Float64Array(Math.max(0, n - 1));
  for (let k = 0; k < c; k++) {
    off[2 * k] = d[k] as number;
    if (k < c - 1) off[2 * k + 1] = e[k] as number;
  }
  const ev = tridiagonalEigenvalues(new Float64Array(n), off);
  const s = new Float64Array(c);
  for (let k = 0; k < c; k++) s[k] = Math.abs(ev[n - 1 - k] as number);
  return s.sort().reverse();
}

/**
 * One Householder reflection of the bidiagonalisation, applied in place to A (row length
 * `cols`): a column reflection (`left`, zeroing A[start+1.., k]) over rows start..limit-1, or
 * a row reflection (zeroing A[k, start+1..]) over columns start..limit-1. Returns the value
 * left on the (super)diagonal.
 */
function reflect(A: Float64Array, cols: number, limit: number, k: number, start: number, left: boolean, v: Float64Array): number {
  const at = (t: number): number => (left ? t * cols + k : k * cols + t);
  let norm2 = 0;
  for (let t = start; t < limit; t++) norm2 += (A[at(t)] as number) ** 2;
  const x0 = A[at(start)] as number;
  if (norm2 === 0) return 0;
  const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
  for (let t = start; t < limit; t++) v[t] = A[at(t)] as number;
  v[start] = x0 - alpha;
  const vtv = norm2 - x0 * x0 + (x0 - alpha) ** 2;
  if (vtv === 0) return x0;
  const beta = 2 / vtv;
  if (left) {
    // columns k+1.. of rows start..limit-1: col -= beta v (v . col); row-wise for contiguous access
    const sums = new Float64Array(cols);
    for (let t = start; t < limit; t++) {
      const vt = v[t] as number;
      const o = t * cols;
      for (let j = k + 1; j < cols; j++) sums[j] = (sums[j] as number) + vt * (A[o + j] as number);
    }
    for (let t = start; t < limit; t++) {
      const bv = beta * (v[t] as number);
      const o = t * cols;
      for (let j = k + 1; j < cols; j++) A[o + j] = (A[o + j] as number) - bv * (sums[j] as number);
    }
    for (let t = start; t < limit; t++) A[t * cols + k] = 0;
  } else {
    const rows = A.length / cols;
    for (let i = k + 1; i < rows; i++) {
      let s = 0;
      for (let t = start; t < limit; t++) s += (v[t] as number) * (A[i * cols + t] as number);
      s *= beta;
      for (let t = start; t < limit; t++) A[i * cols + t] = (A[i * cols + t] as number) - s * (v[t] as number);
    }
    for (let t = start; t < limit; t++) A[k * cols + t] = 0;
  }
  A[at(start)] = alpha;
  return alpha;
}

/**
 * Lower Cholesky factor L (S = L L^T) of a symmetric positive-definite n x n matrix; throws
 * STATS_SINGULAR naming `what` if a pivot is not positive.
 */
export function cholesky(S: Float64Array, n: number, what: string): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = S[j * n + j] as number;
    for (let k = 0; k < j; k++) s -= (L[j * n + k] as number) ** 2;
    if (!(s > 0)) throw new StatsError('STATS_SINGULAR', `${what}: covariance is not positive definite (Cholesky pivot ${j} is ${s})`);
    const ljj = Math.sqrt(s);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let t = S[i * n + j] as number;
      for (let k = 0; k < j; k++) t -= (L[i * n + k] as number) * (L[j * n + k] as number);
      L[i * n + j] = t / ljj;
    }
  }
  return L;
}

/** Solves L X = B for X (L lower triangular n x n, B n x c row-major); returns X. */
export function solveLower(L: Float64Array, n: number, B: Float64Array, c: number): Float64Array {
  const X = Float64Array.from(B);
  for (let i = 0; i < n; i++) {
    const xo = i * c;
    for (let k = 0; k < i; k++) {
      const l = L[i * n + k] as number;
      if (l === 0) continue;
      const ko = k * c;
      for (let j = 0; j < c; j++) X[xo + j] = (X[xo + j] as number) - l * (X[ko + j] as number);
    }
    const inv = 1 / (L[i * n + i] as number);
    for (let j = 0; j < c; j++) X[xo + j] = (X[xo + j] as number) * inv;
  }
  return X;
}

/** Transpose of an r x c row-major matrix. */
export function transpose(A: Float64Array, r: number, c: number): Float64Array {
  const T = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) T[j * r + i] = A[i * c + j] as number;
  return T;
}

/**
 * numpy's default `pinv` cutoff (rcond = 1e-15 relative to the largest singular value): below
 * it the reference zeroes a direction, and the eigen square root of that pseudo-inverse then
 * meets round-off eigenvalues of either sign (NaN for the negative ones), so we call such a
 * block singular instead of guessing what the reference would print.
 */
export const PINV_RCOND = 1e-15;

/**
 * Throws STATS_SINGULAR (naming `what`) when the symmetric n x n matrix S has an eigenvalue
 * <= PINV_RCOND x its largest, i.e. where svcca's pinv + eigh + sqrt gives NaN or fails.
 */
export function assertWellConditioned(S: Float64Array, n: number, what: string): void {
  assertWellConditionedEigenvalues(symmetricEigenvalues(S, n), what);
}

function assertWellConditionedEigenvalues(w: Float64Array, what: string): void {
  const n = w.length;
  const wmin = w[0] as number;
  const wmax = w[n - 1] as number;
  if (!(wmin > PINV_RCOND * wmax)) {
    throw new StatsError(
      'STATS_SINGULAR',
      `${what}: the covariance of the kept neurons is singular (eigenvalues ${wmin.toExponential(3)} .. ${wmax.toExponential(3)}); ` +
        `the reference svcca returns NaN or raises LinAlgError here. A neuron is constant or a linear combination of others: ` +
        `use epsilon > 0 (the study uses 1e-12), or more datapoints than neurons`,
    );
  }
}

/** numpy's float64 machine epsilon, used by `matrix_rank`'s default tolerance. */
const F64_EPS = 2.220446049250313e-16;

/**
 * Checks one covariance block of CCA before and after svcca's ridge: `S` is the rescaled
 * block of the kept neurons WITHOUT the ridge, `epsilon` the ridge about to be added.
 * - rank-deficient S (rank as numpy's `matrix_rank`: eigenvalues above n x eps x the largest)
 *   with epsilon > 0 throws STATS_RANK_DEFICIENT: more neurons than the datapoints span, or a
 *   neuron that is a linear combination of others. The ridge then makes the block invertible
 *   only numerically; the canonical correlations of the missing directions are not defined
 *   (svcca raises LinAlgError or returns NaN for most such inputs, e.g. 20 neurons of rank 5,
 *   or 50 neurons over 40 datapoints, while ours would return ~1).
 * - S + epsilon I not positive definite relative to numpy's pinv cutoff throws STATS_SINGULAR
 *   (epsilon 0 with a constant or dependent neuron), as `assertWellConditioned`.
 * One eigen decomposition serves both: the ridge shifts every eigenvalue by epsilon.
 */
export function assertUsableCovariance(S: Float64Array, n: number, epsilon: number, datapoints: number, what: string): void {
  const w = symmetricEigenvalues(S, n);
  const wmax = w[n - 1] as number;
  if (epsilon > 0) {
    const tol = wmax * n * F64_EPS;
    let rank = 0;
    for (const v of w) if (v > tol) rank++;
    if (rank < n) {
      throw new StatsError(
        'STATS_RANK_DEFICIENT',
        `${what}: the ${n} kept neurons span only ${rank} dimension(s) over ${datapoints} datapoints (rank-deficient covariance: ` +
          `${n >= datapoints ? 'more neurons than datapoints' : 'some neurons are linear combinations of others'}). ` +
          `The canonical correlations are not defined there (svcca raises LinAlgError or returns NaN for such input); ` +
          `use fewer channels or more datapoints`,
      );
    }
  }
  assertWellConditionedEigenvalues(w.map((v) => v + epsilon), what);
}
