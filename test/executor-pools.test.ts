/**
 * Unit tests of the executor's resource pools and GPU selection: p-limit based CPU slots
 * (weighted), GPU cards handed out one specific id at a time, `--gpus` parsing and the
 * CUDA_VISIBLE_DEVICES fallback.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectGpus, parseGpuFlag } from '../src/executor/gpus.ts';
import { GpuPool, SlotPool } from '../src/executor/pools.ts';
import { formatReason } from '../src/executor/events.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('SlotPool never grants more than its size, including weighted requests', async () => {
  const pool = new SlotPool(2);
  const r1 = await pool.acquire();
  const r2 = await pool.acquire();
  let third = false;
  const p3 = pool.acquire().then((r) => ((third = true), r));
  await tick();
  assert.equal(third, false);
  r1();
  const r3 = await p3;
  assert.equal(pool.active, 2);
  let big = false;
  const pBig = pool.acquire(5).then((r) => ((big = true), r)); // clamped to 2
  await tick();
  assert.equal(big, false);
  r2();
  await tick();
  assert.equal(big, false, 'one slot free is not enough for a 2-slot request');
  r3();
  const rBig = await pBig;
  assert.equal(pool.active, 2);
  rBig();
  rBig(); // idempotent
  await tick();
  assert.equal(pool.active, 0);
});

test('GpuPool hands out distinct card ids and waits when all are busy', async () => {
  const pool = new GpuPool(['0', '2']);
  const a = await pool.acquire();
  const b = await pool.acquire();
  assert.deepEqual([a.id, b.id].sort(), ['0', '2']);
  let got: string | undefined;
  const pc = pool.acquire().then((c) => ((got = c.id), c));
  await tick();
  assert.equal(got, undefined);
  b.release();
  const c = await pc;
  assert.equal(c.id, b.id);
  a.release();
  c.release();
});

test('--gpus parsing and the CUDA_VISIBLE_DEVICES fallback', () => {
  assert.deepEqual(parseGpuFlag('2'), ['0', '1']);
  assert.deepEqual(parseGpuFlag('0,2'), ['0', '2']);
  assert.deepEqual(parseGpuFlag('none'), []);
  assert.throws(() => parseGpuFlag('a b'), /--gpus/);
  assert.deepEqual(detectGpus('1', { CUDA_VISIBLE_DEVICES: '3,4' }), { ids: ['0'], source: 'flag' });
  assert.deepEqual(detectGpus(undefined, { CUDA_VISIBLE_DEVICES: '3,4' }), { ids: ['3', '4'], source: 'env' });
  assert.deepEqual(detectGpus(undefined, { CUDA_VISIBLE_DEVICES: '' }), { ids: [], source: 'env' });
  assert.equal(formatReason({ kind: 'changed', details: ['param a: 1 -> 2'] }), 'param a: 1 -> 2');
});
