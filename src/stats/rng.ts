/**
 * A small seeded pseudo-random generator shared by every seeded procedure in the project
 * (stimulus draws for CCA, fold shuffles, bootstrap resamples). `Math.random` is never used:
 * a result must be a pure function of the pipeline seed so that the cache key describes it.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 32-bit state words, period 2^128 - 1, seeded
 * through splitmix32 so that nearby seeds (0, 1, 2) give unrelated streams. It is not
 * numpy's Mersenne Twister: sequences differ from the reference, only the distributions match.
 */

/** A seeded stream of random numbers; all methods advance the same state. */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform integer in [0, n) without modulo bias; n must be a positive integer <= 2^32. */
  int(n: number): number;
  /** Standard normal deviate (Box-Muller, no cached pair so state use is predictable). */
  normal(): number;
}

/** splitmix32 step: used only to expand a seed into state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds any finite number (also > 2^32 or fractional) into a 32-bit seed word sequence. */
function seedWords(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`rng: seed must be finite, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const frac = Math.round((seed - Math.floor(seed)) * 4294967296) >>> 0;
  return (lo ^ Math.imul(hi, 0x27d4eb2d) ^ Math.imul(frac, 0x165667b1)) >>> 0;
}

/** Creates a generator whose stream is a pure function of `seed` (any finite number). */
export function createRng(seed: number): Rng {
  const st = { s: seedWords(seed) };
  let a = splitmix32(st);
  let b = splitmix32(st);
  let c = splitmix32(st);
  let d = splitmix32(st);
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const nextUint32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  const next = (): number => {
    const hi = nextUint32() >>> 5; // 27 bits
    const lo = nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new RangeError(`rng.int: n must be an integer in [1, 2^32], got ${n}`);
    // Rejection sampling on the top of the 32-bit range removes modulo bias.
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = nextUint32();
      if (x < limit) return x % n;
    }
  };
  const normal = (): number => {
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return { nextUint32, next, int, normal };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A seed for an independent sub-stream, e.g. `deriveSeed(ctx.seed, 'cca', fold, layer)`, so
 * adding a layer or a repeat does not shift the random numbers of the others.
 */
export function deriveSeed(seed: number, ...parts: readonly (string | number)[]): number {
  // FNV-1a over the textual parts, mixed with the seed through splitmix32.
  let h = 0x811c9dc5 ^ seedWords(seed);
  for (const p of parts) {
    const s = `${typeof p === 'number' ? 'n' : 's'}:${String(p)}|`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  return splitmix32({ s: h }) >>> 0;
}

/** Fisher-Yates shuffle in place (uniform over permutations); returns the same array. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(rng: Rng, arr: T): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
  return arr;
}

/** A uniformly random permutation of 0..n-1. */
export function permutation(rng: Rng, n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(rng, p);
}

/**
 * `k` distinct indices drawn uniformly from 0..n-1 without replacement, in draw order (like
 * `np.random.choice(n, k, replace=False)`, though not the same stream). Partial Fisher-Yates,
 * O(n) memory; `k` may equal `n` (then it is a permutation).
 */
export function choiceWithoutReplacement(rng: Rng, n: number, k: number): Int32Array {
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || k > n) {
    throw new RangeError(`choiceWithoutReplacement: need integers 0 <= k <= n, got n=${n}, k=${k}`);
  }
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p.slice(0, k);
}
