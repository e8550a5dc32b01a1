import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ccaSimilarity, createRng, StatsError, type Mat } from '../src/stats/index.ts';
import { allocStack, centeredCovariance, writeRows } from '../src/stats/covariance.ts';

const code = (c: string) => (e: unknown) => e instanceof StatsError && e.code === c;

function close(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs((actual[i] as number) - (expected[i] as number));
    assert.ok(d <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (|diff| ${d})`);
  }
}

/** protocol.md section 8, case A: X 4 x 50, Y = 0.3 W X + C (3 x 50). */
function caseA(): { X: number[][]; Y: number[][] } {
  const X: number[][] = [];
  for (let i = 0; i < 4; i++) {
    X.push(Array.from({ length: 50 }, (_, j) => Math.sin(0.37 * (i + 1) * (j + 1)) + 0.1 * Math.cos(0.11 * (i + 2) * j)));
  }
  const Y: number[][] = [];
  for (let k = 0; k < 3; k++) {
    Y.push(
      Array.from({ length: 50 }, (_, j) => {
        let s = 0;
        for (let i = 0; i < 4; i++) s += ((((k + 1) * (i + 2)) % 5) - 2) * (X[i]![j] as number);
        return 0.3 * s + Math.cos(0.53 * (k + 3) * (j + 1));
      }),
    );
  }
  return { X, Y };
}

test('case A matches svcca to 1e-9 (epsilon 1e-12 and 0, and swapped)', () => {
  const { X, Y } = caseA();
  const r = ccaSimilarity(X, Y, { epsilon: 1e-12 });
  close(r.coefs, [0.7921667052829482, 0.679160507718444, 0.35416196123571125], 1e-9, 'coefs');
  close([r.mean, r.meanAll, r.sum], [0.6084963914123678, 0.6084963914123678, 1.8254891742371033], 1e-9, 'mean/meanAll/sum');
  assert.equal(r.thresholdCount, 3);
  assert.deepEqual(r.keptX, [true, true, true, true]);
  assert.deepEqual(r.keptY, [true, true, true]);
  assert.equal(r.zero, false);
  const r0 = ccaSimilarity(X, Y, { epsilon: 0 });
  close(r0.coefs, [0.7921667052836422, 0.67916050771919, 0.3541619612361819], 1e-9, 'coefs eps 0');
  const swapped = ccaSimilarity(Y, X, { epsilon: 1e-12 });
  close(swapped.coefs, Array.from(r.coefs), 1e-13, 'swapped');
});

test('case B: dead neuron removed at epsilon 1e-12; typed STATS_SINGULAR at epsilon 0', () => {
  const { X, Y } = caseA();
  const XB = X.map((row, i) => (i === 2 ? row.map(() => 0) : row));
  const YB = Y.map((row) => row.map((v) => v * 1000));
  const r = ccaSimilarity(XB, YB, { epsilon: 1e-12 });
  assert.deepEqual(r.keptX, [true, true, false, true]);
  close(r.coefs, [0.7434999086123492, 0.6550478664746613, 0.0017938552998838354], 1e-9, 'coefs');
  close([r.mean, r.meanAll, r.sum], [0.6992738875435052, 0.466780543462298, 1.400341630386894], 1e-9, 'means');
  assert.equal(r.thresholdCount, 2);
  assert.throws(() => ccaSimilarity(XB, YB, { epsilon: 0 }), code('STATS_SINGULAR'));
});

test('case C: X with itself gives the ridge-shrunk ones', () => {
  const { X } = caseA();
  const r = ccaSimilarity(X, X, { epsilon: 1e-12 });
  close(r.coefs, [0.9999999999990782, 0.9999999999990119, 0.9999999999989684, 0.9999999999988696], 1e-9, 'coefs');
});

function randomPair(nx: number, ny: number, m: number, seed: number): { X: Float64Array; Y: Float64Array } {
  const rng = createRng(seed);
  const X = new Float64Array(nx * m);
  const Y = new Float64Array(ny * m);
  for (let j = 0; j < m; j++) {
    const z = [rng.normal(), rng.normal(), rng.normal()];
    for (let i = 0; i < nx; i++) X[i * m + j] = (z[i % 3] as number) + rng.normal();
    for (let i = 0; i < ny; i++) Y[i * m + j] = 0.5 * (z[(i + 1) % 3] as number) + rng.normal();
  }
  return { X, Y };
}

test('invariant to neuron order, per-neuron affine rescaling and swapping X and Y', () => {
  const nx = 7;
  const ny = 5;
  const m = 200;
  const { X, Y } = randomPair(nx, ny, m, 11);
  const base = ccaSimilarity({ rows: nx, cols: m, data: X }, { rows: ny, cols: m, data: Y }, { epsilon: 0 });
  const perm = [3, 0, 6, 1, 5, 2, 4];
  const Xp = new Float64Array(nx * m);
  perm.forEach((src, dst) => Xp.set(X.subarray(src * m, (src + 1) * m), dst * m));
  const Xa = X.map((v, k) => v * (0.5 + Math.floor(k / m)) - 3 * Math.floor(k / m));
  const a = ccaSimilarity({ rows: nx, cols: m, data: Xp }, { rows: ny, cols: m, data: Y }, { epsilon: 0 });
  const b = ccaSimilarity({ rows: nx, cols: m, data: Xa }, { rows: ny, cols: m, data: Y }, { epsilon: 0 });
  const c = ccaSimilarity({ rows: ny, cols: m, data: Y }, { rows: nx, cols: m, data: X }, { epsilon: 0 });
  for (const [name, r] of [['order', a], ['affine', b], ['swap', c]] as const) {
    close(r.coefs, Array.from(base.coefs), 1e-10, name);
  }
  assert.ok(base.coefs.every((v, i, s) => v <= 1 && v >= 0 && (i === 0 || v <= (s[i - 1] as number))));
});

test('float32 Mat, float64 Mat and nested rows give the same result', () => {
  const { X, Y } = randomPair(4, 3, 120, 3);
  const X32 = Float32Array.from(X);
  const Y32 = Float32Array.from(Y);
  const rows = (d: Float32Array, r: number, c: number) => Array.from({ length: r }, (_, i) => Array.from(d.subarray(i * c, (i + 1) * c)));
  const a = ccaSimilarity({ rows: 4, cols: 120, data: X32 }, { rows: 3, cols: 120, data: Y32 }, { epsilon: 1e-12 });
  const b = ccaSimilarity(rows(X32, 4, 120), rows(Y32, 3, 120), { epsilon: 1e-12 });
  const c = ccaSimilarity({ rows: 4, cols: 120, data: Float64Array.from(X32) }, { rows: 3, cols: 120, data: Float64Array.from(Y32) }, { epsilon: 1e-12 });
  assert.deepEqual(a.coefs, b.coefs);
  assert.deepEqual(a.coefs, c.coefs);
});

test('covariance: SIMD and JavaScript kernels equal a naive np.cov on odd, multi-block sizes', () => {
  const rows = 7;
  const cols = 2501; // odd, spans three 1024-column blocks
  const rng = createRng(9);
  const data = Float64Array.from({ length: rows * cols }, (_, k) => rng.normal() + (k % 3) + 100 * Math.floor(k / cols));
  const m: Mat = { rows, cols, data };
  const naive = new Float64Array(rows * rows);
  const means = Array.from({ length: rows }, (_, i) => data.subarray(i * cols, (i + 1) * cols).reduce((s, v) => s + v, 0) / cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += ((data[i * cols + k] as number) - (means[i] as number)) * ((data[j * cols + k] as number) - (means[j] as number));
      naive[i * rows + j] = s / (cols - 1);
    }
  }
  for (const forceJs of [false, true]) {
    const buf = allocStack(rows, cols, { forceJs });
    writeRows(buf, 0, m, 'm');
    const { cov } = centeredCovariance(buf);
    close(cov, Array.from(naive), 1e-12, `cov forceJs=${forceJs}`);
  }
});

test('zero kept neurons gives svcca zero dict semantics (coefs [0], means 0)', () => {
  const X = [Array(20).fill(1), Array(20).fill(2)];
  const Y = [Array.from({ length: 20 }, (_, j) => Math.sin(j))];
  const r = ccaSimilarity(X, Y, { epsilon: 1e-12 });
  assert.equal(r.zero, true);
  assert.deepEqual(Array.from(r.coefs), [0]);
  assert.equal(r.mean, 0);
  assert.equal(r.meanAll, 0);
  assert.deepEqual(r.keptX, [false, false]);
});

test('typed errors for degenerate CCA inputs', () => {
  const { X, Y } = caseA();
  assert.throws(() => ccaSimilarity(X, Y.map((r) => r.slice(1)), { epsilon: 1e-12 }), code('STATS_LENGTH_MISMATCH'));
  const wide = X.map((r) => r.slice(0, 4)); // 4 neurons, 4 datapoints
  assert.throws(() => ccaSimilarity(wide, Y.map((r) => r.slice(0, 4)), { epsilon: 1e-12 }), code('STATS_TOO_FEW_DATAPOINTS'));
  const nan = X.map((r, i) => r.map((v, j) => (i === 1 && j === 7 ? Number.NaN : v)));
  assert.throws(() => ccaSimilarity(nan, Y, { epsilon: 1e-12 }), (e: unknown) => code('STATS_NON_FINITE')(e) && /row\) 1, datapoint \(column\) 7/.test(String(e)));
  const inf32: Mat = { rows: 1, cols: 50, data: new Float32Array(50).fill(Infinity) };
  assert.throws(() => ccaSimilarity(inf32, Y, { epsilon: 1e-12 }), code('STATS_NON_FINITE'));
  assert.throws(() => ccaSimilarity(X, Y, { epsilon: -1 }), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => ccaSimilarity(X, Y, { epsilon: 1e-12, threshold: 0 }), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => ccaSimilarity([[1, 2, 3], [1, 2]], Y, { epsilon: 1e-12 }), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => ccaSimilarity({ rows: 2, cols: 3, data: new Float64Array(5) }, Y, { epsilon: 1e-12 }), code('STATS_BAD_ARGUMENT'));
});

test('agrees with a numpy transcription of svcca on random data (skipped without python3/numpy)', (t) => {
  const nx = 12;
  const ny = 9;
  const m = 400;
  const { X, Y } = randomPair(nx, ny, m, 21);
  for (let j = 0; j < m; j++) Y[4 * m + j] = 0; // a dead neuron on the Y side
  const script = `
import sys, json, numpy as np
nx, ny, m, X, Y = json.load(sys.stdin)
X = np.array(X).reshape(nx, m); Y = np.array(Y).reshape(ny, m); eps = 1e-12
s = np.cov(X, Y); sxx, sxy, syy = s[:nx, :nx], s[:nx, nx:], s[nx:, nx:]
xm, ym = np.max(np.abs(sxx)), np.max(np.abs(syy))
sxx = sxx / xm; syy = syy / ym; sxy = sxy / np.sqrt(xm * ym)
kx = np.abs(np.diagonal(sxx)) >= eps; ky = np.abs(np.diagonal(syy)) >= eps
sxx = sxx[kx][:, kx] + eps * np.eye(kx.sum()); syy = syy[ky][:, ky] + eps * np.eye(ky.sum()); sxy = sxy[kx][:, ky]
def isq(a):
    w, v = np.linalg.eigh(np.linalg.pinv(a)); return v @ np.diag(np.sqrt(w)) @ v.T
print(json.dumps([float(v) for v in np.linalg.svd(isq(sxx) @ sxy @ isq(syy), compute_uv=False)]))
`;
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify([nx, ny, m, Array.from(X), Array.from(Y)]), encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) {
    t.skip('python3 with numpy not available');
    return;
  }
  const ours = ccaSimilarity({ rows: nx, cols: m, data: X }, { rows: ny, cols: m, data: Y }, { epsilon: 1e-12 });
  assert.equal(ours.keptY.filter((k) => !k).length, 1);
  close(ours.coefs, JSON.parse(r.stdout) as number[], 1e-9, 'coefs vs numpy');
});

test('rank-deficient input is a typed error where svcca fails, not a number', () => {
  const m = 40;
  const X = Array.from({ length: 6 }, (_, i) => Array.from({ length: m }, (_, j) => Math.sin(0.37 * (i + 1) * (j + 1)) + 0.1 * Math.cos(0.11 * (i + 2) * j)));
  const base = Array.from({ length: 5 }, (_, k) => Array.from({ length: m }, (_, j) => Math.cos(0.53 * (k + 3) * (j + 1))));
  // 20 neurons that are combinations of 5 (rank 4): svcca raises LinAlgError 'SVD did not converge' here
  // (checked with a numpy 2.4 transcription of cca_core), as for the 50 x 40 input below; the full-rank
  // 5-neuron input gives 0.17900042 there.
  const Y = Array.from({ length: 20 }, (_, r) => base[0]!.map((_, j) => base.reduce((s, row, k) => s + (((r + 1) * (k + 2)) % 7 - 3) * row[j]!, 0)));
  assert.throws(() => ccaSimilarity(X, Y, { epsilon: 1e-12 }), (e: unknown) => {
    assert.ok(e instanceof StatsError && e.code === 'STATS_RANK_DEFICIENT', String(e));
    assert.match((e as Error).message, /CCA acts2: the 20 kept neurons span only 4 dimension\(s\) over 40 datapoints/);
    return true;
  });
  // More neurons than datapoints in acts2 (svcca asserts only for acts1, then fails numerically).
  const wide = Array.from({ length: 50 }, (_, r) => Array.from({ length: m }, (_, j) => Math.sin(0.7 * (r + 1) * (j + 1) + r)));
  assert.throws(() => ccaSimilarity(X, wide, { epsilon: 1e-12 }), (e: unknown) => e instanceof StatsError && e.code === 'STATS_RANK_DEFICIENT' && /more neurons than datapoints/.test(e.message));
  // Full-rank input of the same sizes still works.
  assert.ok(Math.abs(ccaSimilarity(X, base, { epsilon: 1e-12 }).meanAll - 0.1790004233483509) < 1e-9);
});
