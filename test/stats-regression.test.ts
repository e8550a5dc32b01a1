import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapBand, bootstrapCorrelation, meanStd, olsFit, percentileSorted, relativeGain, StatsError } from '../src/stats/index.ts';

const code = (c: string) => (e: unknown) => e instanceof StatsError && e.code === c;
const near = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('olsFit: hand-computed slope, intercept and Pearson r', () => {
  // mx 3, my 4, Sxx 10, Sxy 6, Syy 6
  const f = olsFit([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]);
  near(f.slope, 0.6);
  near(f.intercept, 2.2);
  near(f.r, 6 / Math.sqrt(60));
  assert.equal(f.n, 5);
  const neg = olsFit([0, 1, 2], [3, 1, -1]);
  near(neg.slope, -2);
  near(neg.r, -1);
});

test('percentileSorted is numpy linear percentile', () => {
  near(percentileSorted([1, 2, 3, 4], 2.5), 1.075);
  near(percentileSorted([1, 2, 3, 4], 97.5), 3.925);
  near(percentileSorted([5], 50), 5);
});

test('bootstrapBand: exact line gives a zero-width band; noisy data gives a seeded band around the fit', () => {
  const x = [0.1, 0.4, 0.2, 0.9, 0.5, 0.7, 0.3, 0.8, 0.6, 1.0];
  const exact = bootstrapBand(x, x.map((v) => 1 - 2 * v), { seed: 1, resamples: 200 });
  assert.equal(exact.grid.length, 100);
  near(exact.grid[0] as number, 0.1);
  near(exact.grid[99] as number, 1.0);
  for (let k = 0; k < 100; k++) {
    near(exact.lower[k] as number, exact.fit[k] as number, 1e-9);
    near(exact.upper[k] as number, exact.fit[k] as number, 1e-9);
  }
  const y = x.map((v, i) => 0.5 - 0.3 * v + 0.1 * Math.sin(7 * i));
  const a = bootstrapBand(x, y, { seed: 4, grid: [0, 0.5, 1] });
  const b = bootstrapBand(x, y, { seed: 4, grid: [0, 0.5, 1] });
  const c = bootstrapBand(x, y, { seed: 5, grid: [0, 0.5, 1] });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.lower, c.lower);
  for (let k = 0; k < 3; k++) {
    assert.ok((a.lower[k] as number) < (a.fit[k] as number) && (a.fit[k] as number) < (a.upper[k] as number), `grid ${k}`);
  }
  // the band is narrowest near the centre of the data
  assert.ok((a.upper[1] as number) - (a.lower[1] as number) < (a.upper[2] as number) - (a.lower[2] as number));
});

test('relativeGain pairs folds by index or by key', () => {
  const g = relativeGain([0.9, 0.8], [0.6, 0.8]);
  near(g[0] as number, 0.5);
  near(g[1] as number, 0);
  const m = relativeGain(new Map([[1, 0.9], [2, 0.75]]), { 2: 0.5, 1: 0.6 });
  near(m.get('1') as number, 0.5);
  near(m.get('2') as number, 0.5);
  assert.throws(() => relativeGain([0.9], [0.6, 0.7]), code('STATS_UNPAIRED'));
  assert.throws(() => relativeGain({ 1: 0.9, 2: 0.8 }, { 1: 0.6, 3: 0.7 }), code('STATS_UNPAIRED'));
  const untyped = relativeGain as (a: unknown, b: unknown) => unknown; // a JavaScript caller mixing kinds
  assert.throws(() => untyped([0.9], { 1: 0.6 }), code('STATS_UNPAIRED'));
  assert.throws(() => relativeGain([0.9], [0]), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => relativeGain([Number.NaN], [0.5]), code('STATS_NON_FINITE'));
});

test('meanStd uses ddof 1 like pandas', () => {
  const r = meanStd([0.523, 0.585, 0.502, 0.494, 0.529]);
  near(r.mean, 0.5266);
  near(r.std as number, Math.sqrt(((0.523 - 0.5266) ** 2 + (0.585 - 0.5266) ** 2 + (0.502 - 0.5266) ** 2 + (0.494 - 0.5266) ** 2 + (0.529 - 0.5266) ** 2) / 4));
  assert.deepEqual(meanStd([2]), { mean: 2, std: null, n: 1 });
  assert.throws(() => meanStd([]), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => meanStd([1, Number.POSITIVE_INFINITY]), code('STATS_NON_FINITE'));
});

test('regression typed errors', () => {
  assert.throws(() => olsFit([1, 2], [1]), code('STATS_LENGTH_MISMATCH'));
  assert.throws(() => olsFit([1], [1]), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => olsFit([2, 2, 2], [1, 2, 3]), code('STATS_CONSTANT'));
  assert.throws(() => olsFit([1, 2, 3], [4, 4, 4]), code('STATS_CONSTANT'));
  assert.throws(() => bootstrapBand([1, 2, 3], [1, 3, 2], { seed: 0, level: 1 }), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => bootstrapBand([1, 2, 3], [1, 3, 2], { seed: 0, grid: 1 }), code('STATS_BAD_ARGUMENT'));
});

test('bootstrapCorrelation: r with a percentile interval that excludes 0 only for a real trend', () => {
  const n = 35;
  const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) + i / n);
  const noise = Array.from({ length: n }, (_, i) => Math.cos(i * 2.3 + 0.4));
  const strong = x.map((v, i) => -2 * v + 0.3 * noise[i]!);
  const s = bootstrapCorrelation(x, strong, { seed: 7 });
  assert.ok(s.lo <= s.r && s.r <= s.hi && s.hi < 0, `strong trend: ${s.lo} <= ${s.r} <= ${s.hi} < 0`);
  assert.equal(s.r, olsFit(x, strong).r);
  const weak = bootstrapCorrelation(x, noise, { seed: 7 });
  assert.ok(weak.lo < 0 && weak.hi > 0, `no trend: interval ${weak.lo} .. ${weak.hi} spans 0`);
  assert.deepEqual(bootstrapCorrelation(x, noise, { seed: 7 }), weak, 'deterministic for a seed');
  assert.notDeepEqual(bootstrapCorrelation(x, noise, { seed: 8 }), weak);
  assert.throws(() => bootstrapCorrelation(x, x.map(() => 1), { seed: 1 }), { code: 'STATS_CONSTANT' });
});
