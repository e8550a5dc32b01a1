import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ccaSimilarity, createRng, layerCca, roundHalfEven, StatsError, type Activations } from '../src/stats/index.ts';

const code = (c: string) => (e: unknown) => e instanceof StatsError && e.code === c;

/** Random NHWC activations with channel structure shared through a latent field. */
function acts(n: number, h: number, w: number, c: number, seed: number, latent?: Float64Array): { a: Activations; latent: Float64Array } {
  const rng = createRng(seed);
  const pts = n * h * w;
  const lat = latent ?? Float64Array.from({ length: pts * 3 }, () => rng.normal());
  const data = new Float32Array(pts * c);
  for (let p = 0; p < pts; p++) {
    for (let k = 0; k < c; k++) data[p * c + k] = Math.max(0, (lat[p * 3 + (k % 3)] as number) * (1 + (k % 5) * 0.1) + 0.8 * rng.normal());
  }
  return { a: { data, shape: [n, h, w, c] }, latent: lat };
}

test('roundHalfEven is Python 3 round', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.49, 3.5, 204.08, 625].map(roundHalfEven), [0, 2, 2, 3, 4, 204, 625]);
});

test('images per repeat = round(target / (h w)) capped at n; points = images h w', () => {
  const { a, latent } = acts(10, 4, 4, 6, 1);
  const { a: b } = acts(10, 4, 4, 6, 2, latent);
  const r = layerCca(a, b, { targetPoints: 40, channels: 4, repeats: 2, seed: 0 }); // 2.5 -> 2
  assert.equal(r.images, 2);
  assert.equal(r.points, 32);
  assert.equal(r.channels, 4);
  assert.equal(r.repeats.length, 2);
  assert.equal(layerCca(a, b, { targetPoints: 56, channels: 4, repeats: 1, seed: 0 }).images, 4); // 3.5 -> 4
  assert.equal(layerCca(a, b, { targetPoints: 100_000, channels: 4, repeats: 1, seed: 0 }).images, 10); // capped
});

test('deterministic per seed; different seeds draw differently', () => {
  const { a, latent } = acts(30, 3, 3, 20, 3);
  const { a: b } = acts(30, 3, 3, 20, 4, latent);
  const opts = { targetPoints: 90, channels: 8, repeats: 3 };
  const r1 = layerCca(a, b, { ...opts, seed: 7 });
  const r2 = layerCca(a, b, { ...opts, seed: 7 });
  const r3 = layerCca(a, b, { ...opts, seed: 8 });
  assert.deepEqual(r1, r2);
  assert.notDeepEqual(r1.repeats, r3.repeats);
  assert.ok(r1.repeats.every((v) => v > 0 && v < 1));
  assert.ok(Math.abs(r1.mean - r1.repeats.reduce((s, v) => s + v, 0) / 3) < 1e-15);
});

test('all images and all channels: equals ccaSimilarity on the reshaped, transposed matrices', () => {
  const n = 6;
  const hw = 4;
  const c = 5;
  const { a, latent } = acts(n, 2, 2, c, 5);
  const { a: b } = acts(n, 2, 2, c, 6, latent);
  const r = layerCca(a, b, { targetPoints: 1000, channels: 64, repeats: 1, seed: 1, epsilon: 1e-12 });
  const toRows = (x: Activations) => Array.from({ length: c }, (_, k) => Array.from({ length: n * hw }, (_, p) => x.data[p * c + k] as number));
  const direct = ccaSimilarity(toRows(a), toRows(b), { epsilon: 1e-12 });
  assert.ok(Math.abs(r.mean - direct.meanAll) < 1e-12, `${r.mean} vs ${direct.meanAll}`);
});

test('a model against a channel-permuted copy of itself scores ~1 (all channels used, c <= 64)', () => {
  const { a } = acts(8, 3, 3, 6, 9);
  const perm = [4, 2, 0, 5, 1, 3];
  const data = new Float32Array(a.data.length);
  for (let p = 0; p < a.data.length / 6; p++) perm.forEach((src, dst) => (data[p * 6 + dst] = a.data[p * 6 + src] as number));
  const r = layerCca(a, { data, shape: a.shape }, { targetPoints: 30, repeats: 2, seed: 3 });
  assert.ok(Math.abs(r.mean - 1) < 1e-6, String(r.mean));
  assert.equal(r.independentChannels, false);
});

test('different channel counts are sampled independently and flagged', () => {
  const { a, latent } = acts(10, 3, 3, 12, 1);
  const { a: b } = acts(10, 3, 3, 7, 2, latent);
  const r = layerCca(a, b, { targetPoints: 90, channels: 5, repeats: 2, seed: 1 });
  assert.equal(r.independentChannels, true);
  assert.equal(r.channels, 5);
});

test('typed errors for bad layer-CCA inputs', () => {
  const { a, latent } = acts(5, 3, 3, 4, 1);
  const { a: b } = acts(5, 3, 3, 4, 2, latent);
  const { a: other } = acts(5, 2, 2, 4, 3);
  assert.throws(() => layerCca(a, other, { seed: 0 }), code('STATS_LENGTH_MISMATCH'));
  assert.throws(() => layerCca(a, { data: a.data, shape: [5, 3, 3] }, { seed: 0 }), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => layerCca(a, { data: a.data.subarray(1), shape: a.shape }, { seed: 0 }), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => layerCca(a, b, { targetPoints: 4, seed: 0 }), code('STATS_BAD_ARGUMENT')); // round(4/9) = 0 images
  const { a: tiny } = acts(2, 1, 2, 8, 4); // at most 4 points for 8 channels
  assert.throws(() => layerCca(tiny, tiny, { targetPoints: 10, seed: 0 }), code('STATS_TOO_FEW_DATAPOINTS'));
  const nan = Float32Array.from(a.data);
  nan.fill(Number.NaN);
  assert.throws(() => layerCca({ data: nan, shape: a.shape }, b, { targetPoints: 9, seed: 0 }), code('STATS_NON_FINITE'));
  assert.throws(() => layerCca(a, b, { repeats: 0, seed: 0 }), code('STATS_BAD_ARGUMENT'));
});
