/** Keras-semantics Adam (update formula, state round trip) and the losses / accuracy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../src/ml/backend.ts';
import { KerasAdam } from '../src/ml/train/adam.ts';
import { countCorrect, crossEntropy } from '../src/ml/train/losses.ts';

const { tf } = await loadTf({ prefer: 'cpu' });

/** Keras ResourceApplyAdam in double precision. */
function kerasAdam(x: number, gs: number[], lr: number): number {
  let m = 0;
  let v = 0;
  gs.forEach((g, i) => {
    const t = i + 1;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    x -= ((lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t)) * (m / (Math.sqrt(v) + 1e-7));
  });
  return x;
}

test('KerasAdam follows the Keras update, and a restored state continues identically', async () => {
  const gs = [0.5, -0.2, 1e-4, 3];
  const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
  const x = tf.variable(tf.tensor1d([1, -2]));
  const opt = new KerasAdam(tf, [x], cfg);
  for (const g of gs) tf.tidy(() => opt.apply([tf.tensor1d([g, -g])]));
  const got = x.dataSync();
  assert.ok(Math.abs(got[0]! - kerasAdam(1, gs, 0.01)) < 1e-6, `${got[0]} vs ${kerasAdam(1, gs, 0.01)}`);
  assert.ok(Math.abs(got[1]! - kerasAdam(-2, gs.map((g) => -g), 0.01)) < 1e-6);
  assert.equal(opt.step, 4);

  // Two steps, save, restore into a fresh optimizer on a fresh variable, two more steps.
  const y = tf.variable(tf.tensor1d([1, -2]));
  const o1 = new KerasAdam(tf, [y], cfg);
  for (const g of gs.slice(0, 2)) tf.tidy(() => o1.apply([tf.tensor1d([g, -g])]));
  const state = await o1.getState();
  const z = tf.variable(tf.tensor1d(Array.from(y.dataSync())));
  const o2 = new KerasAdam(tf, [z], cfg);
  o2.setState(state);
  for (const g of gs.slice(2)) tf.tidy(() => o2.apply([tf.tensor1d([g, -g])]));
  assert.deepEqual(Array.from(z.dataSync()), Array.from(got));
  for (const o of [opt, o1, o2]) o.dispose();
  tf.dispose([x, y, z]);
});

test('cross-entropies equal their formulas; accuracy is p > 0.5 or argmax', () => {
  const z = [2, -1, 0.3];
  const y = [1, 0, 0];
  const expected = z.reduce((s, zi, i) => s + Math.max(zi, 0) - zi * y[i]! + Math.log1p(Math.exp(-Math.abs(zi))), 0) / 3;
  const bce = tf.tidy(() => crossEntropy(tf, 'sigmoid', tf.tensor2d(z, [3, 1]), tf.tensor1d(y, 'int32')).dataSync()[0]!);
  assert.ok(Math.abs(bce - expected) < 1e-6, `${bce} vs ${expected}`);
  const clipped = tf.tidy(() => crossEntropy(tf, 'sigmoid', tf.tensor2d(z, [3, 1]), tf.tensor1d(y, 'int32'), 'clipped').dataSync()[0]!);
  assert.ok(Math.abs(clipped - expected) < 1e-5);
  const logits = [[1, 2, 3], [0, 0, 5]];
  const cce = tf.tidy(() => crossEntropy(tf, 'softmax', tf.tensor2d(logits), tf.tensor1d([2, 0], 'int32')).dataSync()[0]!);
  const lse = (r: number[]): number => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
  const want = (lse(logits[0]!) - 3 + (lse(logits[1]!) - 0)) / 2;
  assert.ok(Math.abs(cce - want) < 1e-5, `${cce} vs ${want}`);
  assert.equal(countCorrect('sigmoid', Float32Array.from([0.5, 0.51, 0.2]), 2, [1, 1, 0]), 2);
  assert.equal(countCorrect('softmax', Float32Array.from([0.2, 0.5, 0.3, 0.4, 0.4, 0.2]), 3, [1, 0]), 2);
});
