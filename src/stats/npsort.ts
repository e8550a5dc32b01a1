/**
 * numpy's classic `argsort(kind='quicksort')`: an introsort (median-of-3 quicksort, insertion
 * sort for partitions of at most 17 elements, heapsort when recursion gets too deep). It is
 * NOT stable, and the order it gives to equal keys is part of what scikit-learn's GroupKFold
 * returns, so we reproduce the algorithm step by step to get the same tie order as the numpy
 * of the paper's era (numpy < 1.25; newer numpy on AVX2/AVX-512 machines dispatches to
 * x86-simd-sort, which orders ties differently; set NPY_DISABLE_CPU_FEATURES to compare).
 */

const SMALL_QUICKSORT = 15;

/** Index of the most significant set bit of n (numpy's npy_get_msb). */
function msb(n: number): number {
  let d = 0;
  while (n > 1) {
    n = Math.floor(n / 2);
    d++;
  }
  return d;
}

/** Heapsort of tosort[lo .. lo+n-1] by v (1-based heap arithmetic as in numpy's aheapsort). */
function heapsortRange(v: ArrayLike<number>, t: Int32Array, lo: number, n: number): void {
  // a[k] for k in 1..n is t[lo + k - 1]
  const get = (k: number): number => t[lo + k - 1] as number;
  const set = (k: number, x: number): void => {
    t[lo + k - 1] = x;
  };
  const val = (idx: number): number => v[idx] as number;
  for (let l = n >> 1; l > 0; l--) {
    const tmp = get(l);
    let i = l;
    let j = l << 1;
    while (j <= n) {
      if (j < n && val(get(j)) < val(get(j + 1))) j++;
      if (val(tmp) < val(get(j))) {
        set(i, get(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
  while (n > 1) {
    const tmp = get(n);
    set(n, get(1));
    n--;
    let i = 1;
    let j = 2;
    while (j <= n) {
      if (j < n && val(get(j)) < val(get(j + 1))) j++;
      if (val(tmp) < val(get(j))) {
        set(i, get(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
}

/** `np.argsort(v)` (default quicksort kind, pre-SIMD numpy) for finite numeric keys. */
export function numpyArgsort(v: ArrayLike<number>): Int32Array {
  const num = v.length;
  const t = new Int32Array(num);
  for (let i = 0; i < num; i++) t[i] = i;
  if (num < 2) return t;
  const val = (idx: number): number => v[idx] as number;
  const swap = (a: number, b: number): void => {
    const x = t[a] as number;
    t[a] = t[b] as number;
    t[b] = x;
  };
  let pl = 0;
  let pr = num - 1;
  const stack: number[] = [];
  const depths: number[] = [];
  let cdepth = msb(num) * 2;
  for (;;) {
    if (cdepth < 0) {
      heapsortRange(v, t, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (val(t[pm] as number) < val(t[pl] as number)) swap(pm, pl);
        if (val(t[pr] as number) < val(t[pm] as number)) swap(pr, pm);
        if (val(t[pm] as number) < val(t[pl] as number)) swap(pm, pl);
        const vp = val(t[pm] as number);
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do pi++;
          while (val(t[pi] as number) < vp);
          do pj--;
          while (vp < val(t[pj] as number));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // continue with the smaller side, push the larger one
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depths.push(--cdepth);
      }
      // insertion sort of the small partition
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vi = t[pi] as number;
        const key = val(vi);
        let pj = pi;
        while (pj > pl && key < val(t[pj - 1] as number)) {
          t[pj] = t[pj - 1] as number;
          pj--;
        }
        t[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop() as number;
    pl = stack.pop() as number;
    cdepth = depths.pop() as number;
  }
  return t;
}
