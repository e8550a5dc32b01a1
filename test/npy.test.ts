import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { decodeNpy, encodeNpy, readNpy, writeNpy, NpyError } from '../src/data/npy.ts';

test('npy round-trips every dtype with its shape', () => {
  const cases = [
    { data: new Float32Array([1.5, -2, 3, 4, 5, 6]), shape: [2, 3] },
    { data: new Float64Array([Math.PI, -1e-300]), shape: [2] },
    { data: new Uint8Array([0, 255, 7, 9]), shape: [1, 2, 2] },
    { data: new Int32Array([-5, 6, 7]), shape: [3] },
  ];
  for (const c of cases) {
    const buf = encodeNpy(c.data, c.shape);
    assert.equal((buf.length - c.data.byteLength) % 64, 0, 'header padded to 64 bytes');
    const back = decodeNpy(buf);
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual(Array.from(back.data as ArrayLike<number>), Array.from(c.data));
  }
});

test('npy rejects a shape that does not match the data, and a truncated file naming it', () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /holds 6 values but data has 5/);
  const dir = mkdtempSync(join(tmpdir(), 'npy-'));
  const f = join(dir, 'cut.npy');
  writeFileSync(f, encodeNpy(new Float32Array(10), [10]).subarray(0, 100));
  assert.throws(() => readNpy(f), (e: unknown) => e instanceof NpyError && e.message.includes(f) && /truncated/.test(e.message));
});

test('numpy reads what we write, when python3 with numpy is present', (t) => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  } catch {
    t.skip('python3 with numpy not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'npy-'));
  const f = join(dir, 'a.npy');
  writeNpy(f, new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  const out = execFileSync('python3', ['-c', `import numpy as np; a=np.load(${JSON.stringify(f)}); print(a.dtype, a.shape, a.sum())`]).toString().trim();
  assert.equal(out, 'float32 (3, 2) 21.0');
  const g = join(dir, 'b.npy');
  execFileSync('python3', ['-c', `import numpy as np; np.save(${JSON.stringify(g)}, np.arange(6, dtype=np.float64).reshape(2,3))`]);
  const back = readNpy(g);
  assert.deepEqual(back.shape, [2, 3]);
  assert.equal(back.dtype, '<f8');
  assert.deepEqual(Array.from(back.data as Float64Array), [0, 1, 2, 3, 4, 5]);
});
