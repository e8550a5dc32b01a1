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

test('the class signal is in the pixels: radiology lesions brighten the body, blobs add bright mass', () => {
  // Mean of the brightest 2 % of pixels is a crude detector; class means must be ordered.
  const score = (spec: SyntheticSpec, k: number): number => {
    let total = 0;
    for (let i = 0; i < 40; i++) {
      const img = syntheticImage(spec, i, k);
      const v = Array.from(img.data.filter((_, j) => j % img.channels === 0)).sort((a, b) => b - a);
      const top = v.slice(0, Math.ceil(v.length * 0.02));
      total += top.reduce((a, b) => a + b, 0) / top.length;
    }
    return total / 40;
  };
  for (const family of ['blobs', 'radiology'] as const) {
    const spec: SyntheticSpec = { family, classes: 3, count: 40, size: [32, 32], seed: 3, difficulty: 0 };
    assert.ok(score(spec, 2) > score(spec, 0) + 5, `${family}: class 2 should be brighter than class 0`);
  }
});

test('patients share a label and class names sort numerically', () => {
  const meta = syntheticMeta({ family: 'natural', classes: 2, count: 12, size: [8, 8], seed: 0, perPatient: 3, difficulty: 0 });
  assert.deepEqual(meta.map((m) => m.group), ['p0', 'p0', 'p0', 'p1', 'p1', 'p1', 'p2', 'p2', 'p2', 'p3', 'p3', 'p3']);
  assert.deepEqual(meta.map((m) => m.label), [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]);
  assert.deepEqual(syntheticClassNames(11).slice(0, 3), ['class00', 'class01', 'class02']);
});
