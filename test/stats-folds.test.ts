import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupKFold, stratifiedKFold, foldCounts, StatsError } from '../src/stats/index.ts';

const code = (c: string) => (e: unknown) => e instanceof StatsError && e.code === c;

test('groupKFold: hand-derived sklearn 0.23 assignment', () => {
  // counts a:3 b:2 c:2 d:2 e:1 (np.unique order a<b<c<d<e). Visit order: a, then the size-2
  // ties in descending code d, c, b, then e. Loads: a->0 [3,0,0]; d->1 [3,2,0]; c->2 [3,2,2];
  // b->argmin([3,2,2])=1 [3,4,2]; e->2 [3,4,3].
  const g = ['a', 'b', 'a', 'c', 'd', 'b', 'a', 'e', 'c', 'd'];
  assert.deepEqual(Array.from(groupKFold(g, 3)), [0, 1, 0, 2, 1, 1, 0, 2, 2, 1]);
});

test('groupKFold: equal-size groups go in descending np.unique order (numpy argsort()[::-1])', () => {
  // x:2 y:2 z:1, 2 splits. Order y, x, z: y->0 [2,0]; x->1 [2,2]; z->0.
  assert.deepEqual(Array.from(groupKFold(['x', 'y', 'x', 'y', 'z'], 2)), [1, 0, 1, 0, 0]);
  // numbers sort numerically (10 > 9), not as text
  assert.deepEqual(Array.from(groupKFold([9, 10, 9, 10, 1], 2)), [1, 0, 1, 0, 0]);
});

test('groupKFold: groups never straddle folds and folds are balanced', () => {
  const groups: number[] = [];
  for (let g = 0; g < 40; g++) for (let k = 0; k < 1 + (g % 4); k++) groups.push(g);
  const f = groupKFold(groups, 5);
  const seen = new Map<number, number>();
  groups.forEach((g, i) => {
    const prev = seen.get(g);
    if (prev !== undefined) assert.equal(prev, f[i]);
    seen.set(g, f[i] as number);
  });
  const c = foldCounts(f, 5);
  assert.ok(Math.max(...c) - Math.min(...c) <= 4, `unbalanced ${c}`);
});

test('groupKFold: typed errors', () => {
  assert.throws(() => groupKFold(['a', 'b'], 3), code('STATS_TOO_FEW_GROUPS'));
  assert.throws(() => groupKFold(['a', 'b'], 1), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => groupKFold(['a', 1, 'b'], 2), code('STATS_BAD_ARGUMENT'));
  assert.throws(() => groupKFold([1, Number.NaN, 2], 2), code('STATS_NON_FINITE'));
});

test('stratifiedKFold: unshuffled blocks equal sklearn (hand-derived)', () => {
  // class 0 (first seen) has 4 members, class 1 has 6; dealing sorted labels round robin
  // gives class 0 -> folds [0,0,1,2], class 1 -> [0,0,1,1,2,2], in data order.
  const y = [0, 0, 0, 1, 1, 1, 1, 0, 1, 1];
  assert.deepEqual(Array.from(stratifiedKFold(y, 3, { shuffle: false })), [0, 0, 1, 0, 0, 1, 1, 2, 2, 2]);
});

test('stratifiedKFold: shuffled folds are deterministic per seed and keep class counts balanced', () => {
  const y: string[] = [];
  for (let i = 0; i < 103; i++) y.push(i % 7 === 0 ? 'rare' : i % 3 === 0 ? 'b' : 'a');
  const a = stratifiedKFold(y, 5, { shuffle: true, seed: 2 });
  const b = stratifiedKFold(y, 5, { shuffle: true, seed: 2 });
  const c = stratifiedKFold(y, 5, { shuffle: true, seed: 3 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const unshuffled = stratifiedKFold(y, 5, { shuffle: false });
  for (const cls of ['a', 'b', 'rare']) {
    const per = (f: Int32Array) => [0, 1, 2, 3, 4].map((k) => y.filter((v, i) => v === cls && f[i] === k).length);
    const pa = per(a);
    assert.ok(Math.max(...pa) - Math.min(...pa) <= 1, `${cls}: ${pa}`);
    assert.deepEqual(pa, per(unshuffled)); // shuffling permutes membership, never the counts
  }
});

test('stratifiedKFold: typed errors', () => {
  assert.throws(() => stratifiedKFold(['a', 'a', 'a', 'b'], 3, { shuffle: false }), code('STATS_TOO_FEW_MEMBERS'));
  // sklearn mode: only a warning when some (not all) classes are small
  const f = stratifiedKFold(['a', 'a', 'a', 'b'], 3, { shuffle: false, allowSmallClasses: true });
  assert.equal(f.length, 4);
  assert.throws(() => stratifiedKFold(['a', 'b'], 3, { shuffle: false, allowSmallClasses: true }), code('STATS_TOO_FEW_MEMBERS'));
  assert.throws(() => stratifiedKFold(['a', 'a'], 0, { shuffle: false }), code('STATS_BAD_ARGUMENT'));
});

import { spawnSync } from 'node:child_process';

/** numpy's classic introsort (what sklearn 0.23 ran on); newer numpy needs SIMD sorts disabled. */
function pythonGroupKFold(groups: number[], n: number): number[] | null {
  const script = `
import sys, json
import numpy as np
groups, n = json.load(sys.stdin)
# only meaningful where numpy runs its classic introsort (SIMD sorts disabled or absent)
if np.argsort(np.array([1, 0] * 8 + [1])).tolist() != [1, 3, 13, 5, 7, 15, 9, 11, 0, 14, 12, 8, 6, 4, 2, 10, 16]:
    sys.exit(3)
u, g = np.unique(np.array(groups), return_inverse=True)
c = np.bincount(g); idx = np.argsort(c)[::-1]; c = c[idx]
load = np.zeros(n); m = np.zeros(len(u))
for gi, w in enumerate(c):
    l = np.argmin(load); load[l] += w; m[idx[gi]] = l
print(json.dumps(m[g].astype(int).tolist()))
`;
  const r = spawnSync('python3', ['-c', script], {
    input: JSON.stringify([groups, n]),
    encoding: 'utf8',
    env: { ...process.env, NPY_DISABLE_CPU_FEATURES: 'X86_V3 X86_V4 AVX512_ICL AVX512_SPR AVX2 AVX512F AVX512_SKX' },
  });
  if (r.status !== 0 || !r.stdout) return null;
  return JSON.parse(r.stdout) as number[];
}

test('groupKFold: equals the sklearn 0.23 algorithm on numpy (many tied groups)', (t) => {
  const groups: number[] = [];
  let s = 7;
  for (let i = 0; i < 1500; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    groups.push((s >>> 8) % 400); // ~400 groups with many equal sizes
  }
  const ref = pythonGroupKFold(groups, 5);
  if (ref === null) {
    t.skip('python3 with numpy (running its classic introsort argsort) not available');
    return;
  }
  assert.deepEqual(Array.from(groupKFold(groups, 5)), ref);
});
