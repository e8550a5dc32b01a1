import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYNTHETIC_FAMILIES, syntheticClassNames, syntheticImage, syntheticMeta, type SyntheticSpec } from '../src/data/synthetic.ts';

test('synthetic images are a pure function of the seed and differ across seeds', () => {
  for (const family of SYNTHETIC_FAMILIES) {
    const spec: SyntheticSpec = { family, classes: 3, count: 6, size: [12, 10], seed: 5 };
    const meta = syntheticMeta(spec);
    const a = syntheticImage(spec, 4, meta[4]!.trueClass);
    const b = syntheticImage(spec, 4, meta[4]!.trueClass);
    const c = syntheticImage({ ...spec, seed: 6 }, 4, meta[4]!.trueClass);
    assert.deepEqual(a.data, b.data, family);
    assert.notDeepEqual(a.data, c.data, family);
    assert.equal(a.width, 10);
    assert.equal(a.height, 12);
    assert.equal(a.data.length, 12 * 10 * a.channels);
  }
});

test('label noise follows difficulty: none at 0, about 12.5 % at 0.5, balanced true classes', () => {
  const base: SyntheticSpec = { family: 'blobs', classes: 4, count: 4000, size: [8, 8], seed: 1 };
  const clean = syntheticMeta({ ...base, difficulty: 0 });
  assert.equal(clean.filter((m) => m.label !== m.trueClass).length, 0);
  const noisy = syntheticMeta(base);
  const rate = noisy.filter((m) => m.label !== m.trueClass).length / noisy.length;
  assert.ok(rate > 0.1 && rate < 0.15, `noise rate ${rate}`);
  const counts = [0, 0, 0, 0];
  for (const m of noisy) counts[m.trueClass]!++;
  assert.deepEqual(counts, [1000, 1000, 1000, 1000]);
});

/** Binary ROC AUC of scores (positives vs negatives), ties counted half. */
function auc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** Channel-0 plane of an image as floats. */
function plane(spec: SyntheticSpec, i: number, k: number): { v: Float32Array; h: number; w: number } {
  const img = syntheticImage(spec, i, k);
  const v = new Float32Array(img.width * img.height);
  for (let p = 0; p < v.length; p++) v[p] = img.data[p * img.channels]!;
  return { v, h: img.height, w: img.width };
}

/**
 * Matched filter for a bright bump: the largest mean over a (2r+1)^2 window minus the image's
 * median. A fixed feature, no training: if it separates the classes, a CNN can learn them.
 */
function brightSpot(spec: SyntheticSpec, i: number, k: number, r: number): number {
  const { v, h, w } = plane(spec, i, k);
  const median = Float32Array.from(v).sort()[v.length >> 1]!;
  let best = -Infinity;
  for (let y = r; y < h - r; y++) {
    for (let x = r; x < w - r; x++) {
      let sum = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) sum += v[(y + dy) * w + x + dx]!;
      best = Math.max(best, sum / (2 * r + 1) ** 2);
    }
  }
  return best - median;
}

/** Bright mass: how many pixels stand 40 grey levels above the median (blobs add mass per blob). */
function brightMass(spec: SyntheticSpec, i: number, k: number): number {
  const { v } = plane(spec, i, k);
  const median = Float32Array.from(v).sort()[v.length >> 1]!;
  return v.filter((x) => x > median + 40).length;
}

/** Mean hue (turns) of the most saturated 10 % of pixels, as a point on the unit circle. */
function dominantHue(spec: SyntheticSpec, i: number, k: number): [number, number] {
  const img = syntheticImage(spec, i, k);
  const px: { sat: number; hue: number }[] = [];
  for (let p = 0; p < img.width * img.height; p++) {
    const [r, g, b] = [0, 1, 2].map((c) => img.data[p * 3 + c]! / 255) as [number, number, number];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const d = max - min;
    if (d === 0) continue;
    const hue = max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    px.push({ sat: d / max, hue: hue / 6 });
  }
  px.sort((a, b) => b.sat - a.sat);
  let cx = 0;
  let sy = 0;
  for (const q of px.slice(0, Math.ceil(px.length * 0.1))) {
    cx += Math.cos(2 * Math.PI * q.hue);
    sy += Math.sin(2 * Math.PI * q.hue);
  }
  return [cx, sy];
}

test('the class signal is learnable at 32 px: fixed features separate the clean classes (AUC > 0.7)', () => {
  const n = 30;
  const scores = (f: (i: number, k: number) => number, k: number): number[] => Array.from({ length: n }, (_, i) => f(i, k));
  // Radiology: a lesion (class >= 1) is a bright spot the size of ~0.1 of the image.
  const rad: SyntheticSpec = { family: 'radiology', classes: 2, count: n, size: [32, 32], seed: 3, difficulty: 0.5 };
  const radAuc = auc(scores((i, k) => brightSpot(rad, i, k, 2), 1), scores((i, k) => brightSpot(rad, i, k, 2), 0));
  assert.ok(radAuc > 0.7, `radiology lesion vs none: AUC ${radAuc}`);
  // Blobs: class k holds k blobs, so bright mass grows with the class (1 vs 2 blobs is the hard pair).
  const blobs: SyntheticSpec = { family: 'blobs', classes: 3, count: n, size: [32, 32], seed: 3, difficulty: 0.5 };
  const b1 = scores((i, k) => brightMass(blobs, i, k), 1);
  const b0 = scores((i, k) => brightMass(blobs, i, k), 0);
  const b2 = scores((i, k) => brightMass(blobs, i, k), 2);
  assert.ok(auc(b1, b0) > 0.7, `blobs 1 vs 0: AUC ${auc(b1, b0)}`);
  assert.ok(auc(b2, b1) > 0.7, `blobs 2 vs 1: AUC ${auc(b2, b1)}`);
  // Natural: the class shape's hue centres on the class's slot of the wheel (class 0 at hue 0,
  // class 1 at 1/4 of 4 classes): project the dominant hue on the direction of class 1.
  const nat: SyntheticSpec = { family: 'natural', classes: 4, count: n, size: [32, 32], seed: 3, difficulty: 0.5 };
  const towards1 = (i: number, k: number): number => {
    const [c, s] = dominantHue(nat, i, k);
    return s - c; // class 1 (hue 0.25) has sin > 0, class 0 (hue 0) has cos > 0
  };
  const natAuc = auc(scores(towards1, 1), scores(towards1, 0));
  assert.ok(natAuc > 0.7, `natural class 1 vs 0 by hue: AUC ${natAuc}`);
  // And harder means weaker: at difficulty 1 the radiology feature separates less well than at 0.
  const radAt = (difficulty: number): number => {
    const sp = { ...rad, difficulty };
    return auc(scores((i, k) => brightSpot(sp, i, k, 2), 1), scores((i, k) => brightSpot(sp, i, k, 2), 0));
  };
  assert.ok(radAt(0) > radAt(1), `difficulty 0 AUC ${radAt(0)} should be > difficulty 1 AUC ${radAt(1)}`);
});

test('patients share a label and class names sort numerically', () => {
  const meta = syntheticMeta({ family: 'natural', classes: 2, count: 12, size: [8, 8], seed: 0, perPatient: 3, difficulty: 0 });
  assert.deepEqual(meta.map((m) => m.group), ['p0', 'p0', 'p0', 'p1', 'p1', 'p1', 'p2', 'p2', 'p2', 'p3', 'p3', 'p3']);
  assert.deepEqual(meta.map((m) => m.label), [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]);
  assert.deepEqual(syntheticClassNames(11).slice(0, 3), ['class00', 'class01', 'class02']);
});
