/**
 * GPU pool through the real CLI: with `--gpus 2`, six GPU instances never run more than
 * two at a time, and each sees exactly one card id in CUDA_VISIBLE_DEVICES, never shared
 * with an instance running at the same time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Project } from './fixtures/kinds/_rig.ts';

test('--gpus 2: at most two GPU instances at once, each with its own single card', async () => {
  const p = new Project(`stages:
  train:
    uses: echo
    matrix: { k: [1, 2, 3, 4, 5, 6] }
    resources: { gpu: 1 }
    params: { output: "\${k}", sleepMs: 400 }
`);
  const r = await p.run(['run', '--gpus', '2', '--jobs', '6', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const inv = p.invocations();
  assert.equal(inv.length, 6);
  for (const i of inv) assert.match(i.cvd, /^[01]$/, `${i.id} saw CUDA_VISIBLE_DEVICES=${i.cvd}`);
  // Overlap check on the intervals the instances themselves recorded.
  for (const a of inv) {
    const overlapping = inv.filter((b) => b.start < a.end && a.start < b.end);
    assert.ok(overlapping.length <= 2, `${overlapping.map((o) => o.id).join(', ')} ran at once`);
    for (const b of overlapping) if (b !== a) assert.notEqual(a.cvd, b.cvd, `${a.id} and ${b.id} shared card ${a.cvd}`);
  }
  assert.match(r.stdout, /on gpu [01]/);
  const show = await p.run(['show', 'train[k=3]']);
  assert.match(show.stdout, /device\s+gpu [01]/);
});

test('ctx.cpus is the CPU slots an instance holds: resources.cpu capped at --jobs, 1 by default', async () => {
  const p = new Project(`stages:
  wide:
    uses: echo
    resources: { cpu: 3 }
    params: { output: wide }
  narrow:
    uses: echo
    params: { output: narrow }
  big:
    uses: echo
    resources: { cpu: 8 }
    params: { output: big }
`);
  const r = await p.run(['run', '--jobs', '4', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const cpus = Object.fromEntries(p.invocations().map((i) => [i.id, i.cpus]));
  assert.deepEqual(cpus, { wide: 3, narrow: 1, big: 4 });
});
