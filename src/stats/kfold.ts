/**
 * Cross-validation fold assignment, mirroring scikit-learn 0.23 (the version the paper's
 * `make_dataframe.py` ran under): `GroupKFold` for datasets with patient ids and
 * `StratifiedKFold(shuffle=True)` for the others. Both return the held-out fold index
 * (0..nSplits-1) of every sample, which is what the split CSVs encode.
 */
import { StatsError } from './errors.ts';
import { createRng, shuffleInPlace } from './rng.ts';
import { numpyArgsort } from './npsort.ts';

/** A class label or group id as read from a CSV column: all strings or all numbers. */
export type Key = string | number;

/**
 * Encodes keys as dense integers. `sorted`: codes follow `np.unique` order (numbers ascending,
 * strings by code point); otherwise codes follow order of first appearance.
 */
function encodeKeys(keys: readonly Key[], what: string, sorted: boolean): { codes: Int32Array; uniques: Key[] } {
  let nNum = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k === 'number') {
      if (!Number.isFinite(k)) throw new StatsError('STATS_NON_FINITE', `${what}: entry ${i} is ${k}; expected a finite number or a string`);
      nNum++;
    } else if (typeof k !== 'string') {
      throw new StatsError('STATS_BAD_ARGUMENT', `${what}: entry ${i} is ${typeof k}; expected a string or a number`);
    }
  }
  if (nNum !== 0 && nNum !== keys.length) {
    // numpy would silently turn the numbers into strings; a mixed column is almost always a parsing bug.
    throw new StatsError('STATS_BAD_ARGUMENT', `${what}: mixes ${nNum} numbers and ${keys.length - nNum} strings; use one type`);
  }
  const first = new Map<Key, number>();
  const uniques: Key[] = [];
  for (const k of keys) {
    if (!first.has(k)) {
      first.set(k, uniques.length);
      uniques.push(k);
    }
  }
  if (sorted) {
    uniques.sort(nNum > 0 ? (a, b) => (a as number) - (b as number) : compareCodePoints);
    uniques.forEach((k, i) => first.set(k, i));
  }
  const codes = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) codes[i] = first.get(keys[i] as Key) as number;
  return { codes, uniques };
}

/** Code-point order, as numpy sorts unicode arrays (JS `<` compares UTF-16 units instead). */
function compareCodePoints(a: Key, b: Key): number {
  const sa = a as string;
  const sb = b as string;
  const ia = sa[Symbol.iterator]();
  const ib = sb[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) as number;
    const cy = y.value.codePointAt(0) as number;
    if (cx !== cy) return cx - cy;
  }
}

function checkSplits(nSplits: number): void {
  if (!Number.isInteger(nSplits) || nSplits < 2) {
    throw new StatsError('STATS_BAD_ARGUMENT', `nSplits must be an integer >= 2, got ${nSplits}`);
  }
}

/**
 * scikit-learn `GroupKFold(n_splits).split(X, y, groups)` as a held-out fold index per sample.
 *
 * Algorithm (sklearn 0.23 `GroupKFold._iter_test_indices`): groups are encoded in `np.unique`
 * order; groups are visited by size, largest first (`np.argsort(counts)[::-1]`), and each is
 * given to the fold with the fewest samples so far (`np.argmin`: the lowest fold index wins a
 * tie). The visiting order of equal-size groups is whatever numpy's unstable quicksort
 * argsort gives, reversed; `npsort.ts` reproduces that introsort exactly as numpy had it in
 * 2020 (for <= 16 groups it is stable, so ties go in descending `np.unique` order).
 * Deterministic, no shuffle. Throws STATS_TOO_FEW_GROUPS when nSplits > number of groups.
 */
export function groupKFold(groups: readonly Key[], nSplits: number): Int32Array {
  checkSplits(nSplits);
  const { codes, uniques } = encodeKeys(groups, 'groups', true);
  const nGroups = uniques.length;
  if (nSplits > nGroups) {
    throw new StatsError(
      'STATS_TOO_FEW_GROUPS',
      `groupKFold: cannot make ${nSplits} splits from ${nGroups} distinct group(s) (${groups.length} samples)`,
    );
  }
  const counts = new Float64Array(nGroups);
  for (let i = 0; i < codes.length; i++) counts[codes[i] as number]! += 1;
  // sklearn: indices = np.argsort(n_samples_per_group)[::-1] (unstable quicksort, reversed)
  const order = Array.from(numpyArgsort(counts)).reverse();
  const load = new Float64Array(nSplits);
  const groupFold = new Int32Array(nGroups);
  for (const g of order) {
    let best = 0;
    for (let f = 1; f < nSplits; f++) if ((load[f] as number) < (load[best] as number)) best = f;
    load[best]! += counts[g] as number;
    groupFold[g] = best;
  }
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = groupFold[codes[i] as number] as number;
  return out;
}

/** Options of `stratifiedKFold`. */
export interface StratifiedKFoldOptions {
  /** Shuffle each class's fold blocks (sklearn `shuffle=True`). */
  shuffle: boolean;
  /** Seed of the shuffle (default 0); ignored without shuffle. */
  seed?: number;
  /**
   * sklearn only *warns* when the smallest class has fewer members than nSplits (and errors
   * only when every class does). By default we throw STATS_TOO_FEW_MEMBERS for any such
   * class because it silently yields folds missing that class; set true for sklearn behaviour.
   */
  allowSmallClasses?: boolean;
}

/**
 * scikit-learn `StratifiedKFold(n_splits, shuffle, random_state)` as a held-out fold index per
 * sample (sklearn >= 0.22 `_make_test_folds`, which 0.23 uses).
 *
 * Classes are numbered by first appearance; the per-class fold sizes come from dealing the
 * class-sorted labels round-robin over the folds, so every fold's class counts differ by at
 * most one; within a class, folds are assigned in contiguous blocks in data order, and with
 * `shuffle` each class's block vector is shuffled. The shuffle uses our seeded xoshiro, not
 * numpy's RandomState, so fold *membership* differs from sklearn's while the per-fold class
 * counts are identical. Deterministic for a given seed.
 */
export function stratifiedKFold(labels: readonly Key[], nSplits: number, opts: StratifiedKFoldOptions): Int32Array {
  checkSplits(nSplits);
  const { codes, uniques } = encodeKeys(labels, 'labels', false);
  const n = codes.length;
  if (nSplits > n) {
    throw new StatsError('STATS_TOO_FEW_MEMBERS', `stratifiedKFold: cannot make ${nSplits} splits from ${n} sample(s)`);
  }
  const nClasses = uniques.length;
  const counts = new Int32Array(nClasses);
  for (let i = 0; i < n; i++) counts[codes[i] as number]! += 1;
  const small: string[] = [];
  let allSmall = true;
  for (let k = 0; k < nClasses; k++) {
    if ((counts[k] as number) < nSplits) small.push(`'${String(uniques[k])}' (${counts[k]})`);
    else allSmall = false;
  }
  if (small.length > 0 && (allSmall || !opts.allowSmallClasses)) {
    throw new StatsError(
      'STATS_TOO_FEW_MEMBERS',
      `stratifiedKFold: ${nSplits} splits need at least ${nSplits} members per class, but class(es) ${small.join(', ')} have fewer`,
    );
  }
  const rng = createRng(opts.seed ?? 0);
  const out = new Int32Array(n);
  let start = 0; // position of class k's first member in the class-sorted label vector
  for (let k = 0; k < nClasses; k++) {
    const c = counts[k] as number;
    // allocation[f] = #positions p in [start, start+c) with p % nSplits == f
    const blocks = new Int32Array(c);
    let pos = 0;
    for (let f = 0; f < nSplits; f++) {
      const firstP = start + ((((f - start) % nSplits) + nSplits) % nSplits);
      const alloc = firstP >= start + c ? 0 : Math.floor((start + c - 1 - firstP) / nSplits) + 1;
      blocks.fill(f, pos, pos + alloc);
      pos += alloc;
    }
    if (opts.shuffle) shuffleInPlace(rng, blocks);
    let j = 0;
    for (let i = 0; i < n; i++) if (codes[i] === k) out[i] = blocks[j++] as number;
    start += c;
  }
  return out;
}

/** Per-fold sample counts of a fold-index vector (a convenience for manifests and checks). */
export function foldCounts(folds: Int32Array, nSplits: number): number[] {
  const c = new Array<number>(nSplits).fill(0);
  for (const f of folds) c[f] = (c[f] ?? 0) + 1;
  return c;
}
