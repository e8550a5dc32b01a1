import { test } from 'node:test';
import assert from 'node:assert/strict';
import { predictionSimilarity, rocAuc, rocAucOvr, StatsError } from '../src/stats/index.ts';

const code = (c: string) => (e: unknown) => e instanceof StatsError && e.code === c;
const near = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('rocAuc: sklearn doc example and a hand-counted case with ties', () => {
  near(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  // pos {0.35, 0.8, 0.4} vs neg {0.1, 0.4, 0.4}: 1 + 3 + (1 + 1/2 + 1/2) = 6 of 9 pairs
  near(rocAuc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4]), 6 / 9);
  // all scores tied: 1/2; perfectly separated: 1; reversed: 0; booleans accepted
  near(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]), 0.5);
  near(rocAuc([true, false, true], Float32Array.of(0.9, 0.1, 0.8)), 1);
  near(rocAuc([1, 0], [0.1, 0.9]), 0);
});

test('rocAucOvr: hand-computed weighted and macro averages', () => {
  const labels = [0, 0, 1, 1, 2, 2, 2];
  const probs = [
    [0.6, 0.3, 0.1],
    [0.2, 0.5, 0.3],
    [0.3, 0.4, 0.3],
    [0.1, 0.2, 0.7],
    [0.2, 0.2, 0.6],
    [0.3, 0.3, 0.4],
    [0.1, 0.1, 0.8],
  ];
  // class 0: 7.5/10, class 1: 5.5/10, class 2: 10/12 (counted pair by pair, ties 1/2)
  const w = rocAucOvr(labels, probs, { average: 'weighted' });
  near(w.perClass[0] as number, 0.75);
  near(w.perClass[1] as number, 0.55);
  near(w.perClass[2] as number, 10 / 12);
  assert.deepEqual(w.support, [2, 2, 3]);
  near(w.auc, (0.75 * 2 + 0.55 * 2 + (10 / 12) * 3) / 7);
  near(rocAucOvr(labels, probs, { average: 'macro' }).auc, (0.75 + 0.55 + 10 / 12) / 3);
  // the same matrix as a flat { data, shape } array
  near(rocAucOvr(Int32Array.from(labels), { data: Float32Array.from(probs.flat()), shape: [7, 3] }).auc, w.auc, 1e-7);
});

test('AUC typed errors', () => {
  assert.throws(() => rocAuc([1, 1, 1], [0.2, 0.3, 0.4]), code('STATS_SINGLE_CLASS'));
  assert.throws(() => rocAuc([0, 1], [0.2]), code('STATS_LENGTH_MISMATCH'));
  assert.throws(() => rocAuc([0, 1], [0.2, Number.NaN]), code('STATS_NON_FINITE'));
  assert.throws(() => rocAuc([0, 2], [0.2, 0.3]), code('STATS_BAD_ARGUMENT'));
  const p3 = [
    [0.5, 0.3, 0.2],
    [0.2, 0.5, 0.3],
    [0.1, 0.1, 0.8],
  ];
  assert.throws(() => rocAucOvr([2, 2, 2], p3), code('STATS_SINGLE_CLASS'));
  assert.throws(() => rocAucOvr([0, 1, 1], p3), code('STATS_MISSING_CLASS'));
  assert.throws(() => rocAucOvr([0, 1, 2], [[0.5, 0.3, 0.3], ...p3.slice(1)]), code('STATS_BAD_ARGUMENT')); // row sums to 1.1
  assert.throws(() => rocAucOvr([0, 1, 3], p3), code('STATS_BAD_ARGUMENT'));
});

test('predictionSimilarity: binary, p > 0.5 strictly, both baselines', () => {
  // preds A [1,0,0,0,1] (0.5 is not > 0.5), B [1,1,0,1,0]; errors A [0,0,1,1,1], B [0,1,1,0,0]
  const labels = [1, 0, 1, 1, 0];
  const A = [0.9, 0.2, 0.4, 0.5, 0.7];
  const B = { data: Float32Array.of(0.8, 0.6, 0.3, 0.9, 0.1), shape: [5, 1] };
  const paper = predictionSimilarity(labels, A, B);
  near(paper.observed, 2 / 5);
  near(paper.accuracyA, 0.4);
  near(paper.accuracyB, 0.6);
  near(paper.independent, 0.4 * 0.6 + 0.6 * 0.4);
  assert.equal(paper.baseline, 'paper');
  near(predictionSimilarity(labels, A, B, { baseline: 'code' }).independent, 0.4 * 0.4 + 0.6 * 0.6);
});

test('predictionSimilarity: multi-class argmax; different wrong classes agree', () => {
  const labels = [0, 1, 2, 2];
  const A = [
    [0.5, 0.3, 0.2],
    [0.1, 0.1, 0.8],
    [0.2, 0.2, 0.6],
    [0.4, 0.4, 0.2], // tie -> first maximum (class 0), wrong
  ];
  const B = [
    [0.1, 0.8, 0.1],
    [0.1, 0.7, 0.2],
    [0.3, 0.3, 0.4],
    [0.1, 0.6, 0.3], // class 1, wrong differently
  ];
  const r = predictionSimilarity(labels, A, B);
  near(r.observed, 0.5);
  near(r.accuracyA, 0.5);
  near(r.accuracyB, 0.5);
  assert.equal(r.n, 4);
});

test('predictionSimilarity typed errors', () => {
  assert.throws(() => predictionSimilarity([0, 1], [0.2, 0.3, 0.4], [0.1, 0.2]), code('STATS_LENGTH_MISMATCH'));
  assert.throws(() => predictionSimilarity([0, 1], [[0.2, 0.8], [0.3, 0.7]], [0.1, 0.2]), code('STATS_LENGTH_MISMATCH'));
  assert.throws(() => predictionSimilarity([0, 2], [0.2, 0.3], [0.1, 0.2]), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => predictionSimilarity([0, 1], [0.2, Number.NaN], [0.1, 0.2]), code('STATS_NON_FINITE'));
  assert.throws(() => predictionSimilarity([], [], []), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => predictionSimilarity([0], { data: [0.1], shape: [1, 1, 1] }, [0.1]), code('STATS_BAD_ARGUMENT'));
});
