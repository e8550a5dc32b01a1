/**
 * The Figure 6 statistics (RT simVSauc_plot.py, protocol.md section 6): relative AUC gain
 * over random initialisation, the OLS line of gain vs CCA similarity and seaborn regplot's
 * bootstrap confidence band; plus mean and standard deviation for the tables.
 */
import { assertFinite, assertSameLength, StatsError } from './errors.ts';
import { createRng } from './rng.ts';

/** An ordinary least-squares line y = intercept + slope x with Pearson's r. */
export interface OlsFit {
  slope: number;
  intercept: number;
  r: number;
  n: number;
}

/**
 * OLS fit of y on x (as np.polyfit(x, y, 1) and seaborn's fit) with Pearson r. Errors:
 * mismatched lengths, fewer than 2 points, NaN, constant x or constant y (STATS_CONSTANT:
 * the slope or r would be undefined).
 */
export function olsFit(x: ArrayLike<number>, y: ArrayLike<number>): OlsFit {
  assertSameLength(x, y, 'x', 'y');
  assertFinite(x, 'x');
  assertFinite(y, 'y');
  const n = x.length;
  if (n < 2) throw new StatsError('STATS_BAD_ARGUMENT', `olsFit needs at least 2 points, got ${n}`);
  const { mx, my, sxx, syy, sxy } = moments(x, y);
  if (sxx === 0) throw new StatsError('STATS_CONSTANT', `olsFit: all ${n} x values equal ${mx}; the slope is undefined`);
  if (syy === 0) throw new StatsError('STATS_CONSTANT', `olsFit: all ${n} y values equal ${my}; Pearson r is undefined`);
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r: sxy / Math.sqrt(sxx * syy), n };
}

function moments(x: ArrayLike<number>, y: ArrayLike<number>): { mx: number; my: number; sxx: number; syy: number; sxy: number } {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] as number;
    my += y[i] as number;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  return { mx, my, sxx, syy, sxy };
}

/**
 * Least-squares coefficients as seaborn's `pinv(X) @ y` with X = [1, x]: the OLS line, or,
 * for a resample whose x values are all equal (rank 1), the minimum-norm solution
 * beta = mean(y) / (1 + x0^2) * (1, x0), which is what the pseudo-inverse returns.
 */
function pinvLine(x: ArrayLike<number>, y: ArrayLike<number>): [number, number] {
  const { mx, my, sxx, sxy } = moments(x, y);
  // relative test: round-off can leave sxx a few ulps above 0 for identical x
  if (sxx <= 1e-24 * Math.max(1, mx * mx) * x.length) {
    const k = my / (1 + mx * mx);
    return [k, k * mx];
  }
  const slope = sxy / sxx;
  return [my - slope * mx, slope];
}

/** Options of `bootstrapBand` (seaborn regplot defaults). */
export interface BootstrapOptions {
  /** Bootstrap resamples (seaborn n_boot, default 1000). */
  resamples?: number;
  /** Grid of x values, or the number of evenly spaced points over [min x, max x] (default 100). */
  grid?: number | readonly number[];
  /** Confidence level (default 0.95: the 2.5th and 97.5th percentiles). */
  level?: number;
  seed: number;
}

/** The regression line and its bootstrap band evaluated at each grid x. */
export interface BootstrapBand {
  grid: Float64Array;
  /** OLS line on all points. */
  fit: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
}

/**
 * seaborn `regplot(x, y)` band: `resamples` times, draw n points with replacement, refit the
 * line (pinv, as seaborn `fit_fast`) and predict it on the grid; the band is the
 * (1 - level)/2 and (1 + level)/2 percentiles of the predictions at each grid x, with numpy's
 * default linear interpolation between order statistics (seaborn `utils.ci` ->
 * np.nanpercentile). The grid defaults to np.linspace(min x, max x, 100) (regplot's
 * truncate=True). Seeded with our generator, so bands differ from seaborn's unseeded ones
 * only by Monte-Carlo noise.
 */
export function bootstrapBand(x: ArrayLike<number>, y: ArrayLike<number>, opts: BootstrapOptions): BootstrapBand {
  const base = olsFit(x, y); // validates lengths, NaN, constant x / y
  const n = x.length;
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 2) throw new StatsError('STATS_BAD_ARGUMENT', `bootstrapBand: resamples must be an integer >= 2, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new StatsError('STATS_BAD_ARGUMENT', `bootstrapBand: level must be in (0, 1), got ${level}`);
  const grid = makeGrid(x, opts.grid ?? 100);
  const g = grid.length;
  const fit = grid.map((v) => base.intercept + base.slope * v);
  const preds = new Float64Array(resamples * g); // [boot][grid]
  const rng = createRng(opts.seed);
  const bx = new Float64Array(n);
  const by = new Float64Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      bx[i] = x[j] as number;
      by[i] = y[j] as number;
    }
    const [a0, a1] = pinvLine(bx, by);
    for (let k = 0; k < g; k++) preds[b * g + k] = a0 + a1 * (grid[k] as number);
  }
  const lower = new Float64Array(g);
  const upper = new Float64Array(g);
  const colv = new Float64Array(resamples);
  const qLo = (100 * (1 - level)) / 2;
  const qHi = 100 - qLo;
  for (let k = 0; k < g; k++) {
    for (let b = 0; b < resamples; b++) colv[b] = preds[b * g + k] as number;
    colv.sort();
    lower[k] = percentileSorted(colv, qLo);
    upper[k] = percentileSorted(colv, qHi);
  }
  return { grid, fit, lower, upper };
}

/** Pearson r with its bootstrap percentile interval (see `bootstrapCorrelation`). */
export interface CorrelationInterval {
  r: number;
  lo: number;
  hi: number;
  n: number;
  /** Confidence level of [lo, hi]. */
  level: number;
}

/**
 * Pearson r of (x, y) and its non-parametric bootstrap percentile interval: `resamples` times,
 * draw n pairs with replacement and recompute r; [lo, hi] are the (1 - level)/2 and
 * (1 + level)/2 percentiles (numpy's linear interpolation). A resample with constant x or y
 * has no r and is left out of the percentiles (with 35 distinct points this is rare).
 * The effect size behind a sign: a slope of -1.1 whose r is -0.16 with an interval
 * spanning 0 is not evidence of a falling trend. Errors as `olsFit` (constant x or y, NaN,
 * fewer than 2 points), and STATS_BAD_ARGUMENT when too few resamples have an r.
 */
export function bootstrapCorrelation(x: ArrayLike<number>, y: ArrayLike<number>, opts: { resamples?: number; level?: number; seed: number }): CorrelationInterval {
  const base = olsFit(x, y);
  const n = x.length;
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 2) throw new StatsError('STATS_BAD_ARGUMENT', `bootstrapCorrelation: resamples must be an integer >= 2, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new StatsError('STATS_BAD_ARGUMENT', `bootstrapCorrelation: level must be in (0, 1), got ${level}`);
  const rng = createRng(opts.seed);
  const bx = new Float64Array(n);
  const by = new Float64Array(n);
  const rs: number[] = [];
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      bx[i] = x[j] as number;
      by[i] = y[j] as number;
    }
    const m = moments(bx, by);
    if (m.sxx > 0 && m.syy > 0) rs.push(m.sxy / Math.sqrt(m.sxx * m.syy));
  }
  if (rs.length < Math.max(2, resamples / 2)) {
    throw new StatsError('STATS_BAD_ARGUMENT', `bootstrapCorrelation: only ${rs.length} of ${resamples} resamples had non-constant x and y; too few distinct points (${n})`);
  }
  const sorted = Float64Array.from(rs).sort();
  const qLo = (100 * (1 - level)) / 2;
  return { r: base.r, lo: percentileSorted(sorted, qLo), hi: percentileSorted(sorted, 100 - qLo), n, level };
}

function makeGrid(x: ArrayLike<number>, grid: number | readonly number[]): Float64Array {
  if (typeof grid !== 'number') {
    assertFinite(grid, 'grid');
    if (grid.length === 0) throw new StatsError('STATS_BAD_ARGUMENT', 'bootstrapBand: empty grid');
    return Float64Array.from(grid);
  }
  if (!Number.isInteger(grid) || grid < 2) throw new StatsError('STATS_BAD_ARGUMENT', `bootstrapBand: grid must be an integer >= 2 or a list of x values, got ${grid}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    lo = Math.min(lo, x[i] as number);
    hi = Math.max(hi, x[i] as number);
  }
  // np.linspace: start + i * step, with the last point exactly `hi`
  const step = (hi - lo) / (grid - 1);
  return Float64Array.from({ length: grid }, (_, i) => (i === grid - 1 ? hi : lo + i * step));
}

/** numpy `percentile(sorted, q)` with the default 'linear' method (index q/100 * (n - 1)). */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const pos = (q / 100) * (n - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  const a = sorted[i] as number;
  if (i + 1 >= n) return a;
  const b = sorted[i + 1] as number;
  return a + (b - a) * f;
}

/** A fold-keyed collection of AUCs: a Map or a plain object keyed by fold. */
export type FoldKeyed = ReadonlyMap<string | number, number> | Readonly<Record<string, number>>;

/**
 * Relative AUC gain over random initialisation, (ft - random) / random, paired fold by fold
 * (Figure 6's y-axis; a fraction, not percentage points). Arrays pair by index and return an
 * array; maps / records pair by key and return a Map. Errors: different lengths or keys
 * (STATS_UNPAIRED), NaN, and a random-init AUC of 0 (STATS_BAD_ARGUMENT: the ratio is undefined).
 */
export function relativeGain(aucFt: ArrayLike<number>, aucRandom: ArrayLike<number>): Float64Array;
export function relativeGain(aucFt: FoldKeyed, aucRandom: FoldKeyed): Map<string, number>;
export function relativeGain(aucFt: ArrayLike<number> | FoldKeyed, aucRandom: ArrayLike<number> | FoldKeyed): Float64Array | Map<string, number> {
  const gain = (ft: number, rnd: number, where: string): number => {
    if (!Number.isFinite(ft) || !Number.isFinite(rnd)) throw new StatsError('STATS_NON_FINITE', `relativeGain: ${where}: AUCs ${ft} and ${rnd} must be finite`);
    if (rnd === 0) throw new StatsError('STATS_BAD_ARGUMENT', `relativeGain: ${where}: random-init AUC is 0, the relative gain is undefined`);
    return (ft - rnd) / rnd;
  };
  const isArr = (v: unknown): v is ArrayLike<number> => Array.isArray(v) || ArrayBuffer.isView(v);
  if (isArr(aucFt) && isArr(aucRandom)) {
    if (aucFt.length !== aucRandom.length) {
      throw new StatsError('STATS_UNPAIRED', `relativeGain: ${aucFt.length} fine-tuned AUCs but ${aucRandom.length} random-init AUCs; folds must pair one to one`);
    }
    return Float64Array.from({ length: aucFt.length }, (_, i) => gain(aucFt[i] as number, aucRandom[i] as number, `fold index ${i}`));
  }
  if (isArr(aucFt) || isArr(aucRandom)) {
    throw new StatsError('STATS_UNPAIRED', 'relativeGain: pass two arrays (paired by index) or two fold-keyed maps, not one of each');
  }
  const a = entries(aucFt as FoldKeyed);
  const b = entries(aucRandom as FoldKeyed);
  const onlyA = [...a.keys()].filter((k) => !b.has(k));
  const onlyB = [...b.keys()].filter((k) => !a.has(k));
  if (onlyA.length || onlyB.length) {
    throw new StatsError(
      'STATS_UNPAIRED',
      `relativeGain: unpaired folds: fine-tuned only [${onlyA.join(', ')}], random-init only [${onlyB.join(', ')}]`,
    );
  }
  const out = new Map<string, number>();
  for (const [k, v] of a) out.set(k, gain(v, b.get(k) as number, `fold ${k}`));
  return out;
}

function entries(m: FoldKeyed): Map<string, number> {
  const out = new Map<string, number>();
  if (m instanceof Map) for (const [k, v] of m) out.set(String(k), v);
  else for (const [k, v] of Object.entries(m)) out.set(k, v);
  return out;
}

/** Mean and sample standard deviation of a set of values. */
export interface MeanStd {
  mean: number;
  /** ddof = 1 (pandas `std`, as Table 2 and Fig 3); null for a single value, where pandas gives NaN. */
  std: number | null;
  n: number;
}

/** Mean and ddof-1 standard deviation (pandas semantics) of finite values; empty input is STATS_BAD_ARGUMENT. */
export function meanStd(values: ArrayLike<number>): MeanStd {
  assertFinite(values, 'values');
  const n = values.length;
  if (n === 0) throw new StatsError('STATS_BAD_ARGUMENT', 'meanStd: no values');
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  if (n === 1) return { mean, std: null, n };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((values[i] as number) - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}
