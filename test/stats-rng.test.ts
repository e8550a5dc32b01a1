import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choiceWithoutReplacement, createRng, deriveSeed, permutation, shuffleInPlace } from '../src/stats/index.ts';

test('createRng is a pure function of the seed', () => {
  const draw = (seed: number) => {
    const r = createRng(seed);
    return [r.nextUint32(), r.next(), r.int(10), r.normal()];
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  assert.notDeepEqual(draw(0), draw(2 ** 32)); // high bits of the seed matter
});

test('uniform draws have the right range and moments', () => {
  const r = createRng(1);
  let s = 0;
  let s2 = 0;
  let n2 = 0;
  const counts = new Array<number>(7).fill(0);
  const N = 20000;
  for (let i = 0; i < N; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    s += u;
    const z = r.normal();
    n2 += z * z;
    s2 += z;
    const k = r.int(7);
    counts[k] = (counts[k] as number) + 1;
  }
  assert.ok(Math.abs(s / N - 0.5) < 0.01);
  assert.ok(Math.abs(s2 / N) < 0.03);
  assert.ok(Math.abs(n2 / N - 1) < 0.05);
  for (const c of counts) assert.ok(Math.abs(c / N - 1 / 7) < 0.01, String(counts));
});

test('permutation, shuffle and choice without replacement are deterministic and valid', () => {
  const p = permutation(createRng(3), 50);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(p, permutation(createRng(3), 50));
  const c = choiceWithoutReplacement(createRng(5), 100, 64);
  assert.equal(new Set(c).size, 64);
  assert.ok(c.every((v) => v >= 0 && v < 100));
  assert.deepEqual(c, choiceWithoutReplacement(createRng(5), 100, 64));
  const arr = ['a', 'b', 'c', 'd'];
  shuffleInPlace(createRng(9), arr);
  assert.deepEqual([...arr].sort(), ['a', 'b', 'c', 'd']);
  assert.throws(() => choiceWithoutReplacement(createRng(1), 3, 4), RangeError);
});

test('deriveSeed separates streams by label', () => {
  assert.equal(deriveSeed(1, 'cca', 3), deriveSeed(1, 'cca', 3));
  assert.notEqual(deriveSeed(1, 'cca', 3), deriveSeed(1, 'cca', 4));
  assert.notEqual(deriveSeed(1, 'cca', 3), deriveSeed(2, 'cca', 3));
  assert.notEqual(deriveSeed(1, 3), deriveSeed(1, '3'));
});
