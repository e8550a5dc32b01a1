/** Augmentation: Keras-equivalent geometry, determinism, flip switch, and batch gathering. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { applyTransform, DEFAULT_AUGMENT, drawTransform, gatherBatch, inverseMap, type AffineDraw } from '../src/ml/train/augment.ts';
import { stream } from '../src/ml/train/random.ts';
import { squaresDataset } from '../src/ml/train/fixtures.ts';

const H = 12;
const W = 10;
const img = Uint8Array.from({ length: H * W * 3 }, (_, i) => (i * 37 + 11) % 256);

function run(t: AffineDraw, interpolation: 'bilinear' | 'nearest' = 'bilinear'): Float32Array {
  const out = new Float32Array(H * W * 3);
  applyTransform(img, 0, H, W, 3, t, interpolation, out, 0);
  return out;
}

const ID: AffineDraw = { theta: 0, tx: 0, ty: 0, shear: 0, zx: 1, zy: 1, flip: false };

test('identity copies, flip mirrors columns, integer shifts move pixels and clamp at the edge', () => {
  assert.equal(inverseMap(ID, H, W), null);
  assert.deepEqual(run(ID), Float32Array.from(img));
  const f = run({ ...ID, flip: true });
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) for (let ch = 0; ch < 3; ch++) {
    assert.equal(f[(r * W + c) * 3 + ch], img[(r * W + (W - 1 - c)) * 3 + ch]);
  }
  // tx = +2 rows: output row i samples input row i + 2 (clamped to the last row).
  const s = run({ ...ID, tx: 2 });
  for (let r = 0; r < H; r++) {
    const src = Math.min(H - 1, r + 2);
    assert.equal(s[(r * W + 4) * 3 + 1], img[(src * W + 4) * 3 + 1]);
  }
});

test('draws are reproducible per (seed, epoch, slot) and follow the ranges', () => {
  const a = drawTransform(stream(3, 'augment', 1, 5), 32, 32, DEFAULT_AUGMENT);
  const b = drawTransform(stream(3, 'augment', 1, 5), 32, 32, DEFAULT_AUGMENT);
  const c = drawTransform(stream(3, 'augment', 2, 5), 32, 32, DEFAULT_AUGMENT);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  let flips = 0;
  for (let k = 0; k < 400; k++) {
    const d = drawTransform(stream(0, 'augment', 1, k), 32, 40, DEFAULT_AUGMENT);
    assert.ok(Math.abs(d.theta) <= 10 && Math.abs(d.tx) <= 3.2 && Math.abs(d.ty) <= 4 && Math.abs(d.shear) <= 0.1);
    assert.ok(d.zx >= 0.9 && d.zx <= 1.1 && d.zy >= 0.9 && d.zy <= 1.1 && d.zx !== d.zy);
    if (d.flip) flips++;
  }
  assert.ok(flips > 150 && flips < 250, `flip rate ${flips}/400`);
  for (let k = 0; k < 100; k++) assert.equal(drawTransform(stream(0, 'augment', 1, k), 32, 32, { ...DEFAULT_AUGMENT, flip: false }).flip, false);
});

test('gatherBatch: deterministic augmentation; no augmentation copies; flip disabled never mirrors', () => {
  const set = squaresDataset(6, 16, 4);
  const idx = [5, 0, 3];
  const randFor = (k: number) => stream(9, 'augment', 1, k);
  const a = gatherBatch(set.images, set.shape, idx, DEFAULT_AUGMENT, randFor);
  const b = gatherBatch(set.images, set.shape, idx, DEFAULT_AUGMENT, randFor);
  assert.deepEqual(a, b);
  const plain = gatherBatch(set.images, set.shape, idx, null, randFor);
  assert.deepEqual(plain.subarray(0, 16 * 16 * 3), Float32Array.from(set.images.subarray(5 * 768, 6 * 768)));
  assert.notDeepEqual(a, plain);
  // Flip only (no geometry): with flip disabled the batch equals the plain copy.
  const flipOnly = { ...DEFAULT_AUGMENT, rotation: 0, widthShift: 0, heightShift: 0, shear: 0, zoom: [1, 1] as [number, number] };
  let mirrored = 0;
  for (let s = 0; s < 8; s++) {
    const r = (k: number) => stream(s, 'augment', 1, k);
    assert.deepEqual(gatherBatch(set.images, set.shape, idx, { ...flipOnly, flip: false }, r), plain);
    if (!gatherBatch(set.images, set.shape, idx, flipOnly, r).every((v, i) => v === plain[i])) mirrored++;
  }
  assert.ok(mirrored > 0, 'with flip enabled some batches are mirrored');
});

test('matches keras_preprocessing apply_affine_transform (scipy ndimage, order 1, nearest) when python is available', (t) => {
  const py = `
import json, sys
import numpy as np
from scipy import ndimage
H, W = ${H}, ${W}
x = ((np.arange(H*W*3) * 37 + 11) % 256).astype(np.float32).reshape(H, W, 3)
def keras(theta, tx, ty, shear, zx, zy):
    M = np.eye(3)
    if theta != 0:
        t = np.deg2rad(theta); M = M @ np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx != 0 or ty != 0: M = M @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    if shear != 0:
        s = np.deg2rad(shear); M = M @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    if zx != 1 or zy != 1: M = M @ np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    ox, oy = H / 2 - 0.5, W / 2 - 0.5
    M = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]]) @ M @ np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    ch = [ndimage.affine_transform(x[:, :, c], M[:2, :2], M[:2, 2], order=1, mode='nearest', cval=0.0) for c in range(3)]
    return np.stack(ch, axis=2)
cases = json.loads(sys.stdin.read())
print(json.dumps([keras(*c).ravel().tolist() for c in cases]))
`;
  const cases: [number, number, number, number, number, number][] = [
    [7.3, 0, 0, 0, 1, 1],
    [0, 1.4, -0.7, 0, 1, 1],
    [0, 0, 0, 0, 0.93, 1.08],
    [-9.1, -1.1, 0.8, 0.07, 1.05, 0.91],
  ];
  const res = spawnSync('python3', ['-c', py], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (res.status !== 0) {
    t.skip(`python3 with numpy/scipy not available (${(res.stderr || String(res.error)).split('\n').filter(Boolean).pop()})`);
    return;
  }
  const ref = JSON.parse(res.stdout) as number[][];
  cases.forEach(([theta, tx, ty, shear, zx, zy], i) => {
    const ours = run({ theta, tx, ty, shear, zx, zy, flip: false });
    let maxDiff = 0;
    ours.forEach((v, q) => (maxDiff = Math.max(maxDiff, Math.abs(v - ref[i]![q]!))));
    assert.ok(maxDiff < 1e-3, `case ${i}: max |ours - keras| = ${maxDiff}`);
  });
});
