/**
 * Integrity and space through the real CLI: flipped bytes in a stored object are named
 * by `dag verify` and make the next run re-run the producer; `dag gc` removes what the
 * current pipeline no longer references and keeps the rest usable.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Project } from './fixtures/kinds/_rig.ts';

test('corrupted objects are detected by verify and by the next run; gc reclaims unreferenced data', async () => {
  const p = new Project(`stages:
  a:
    uses: echo
    params: { output: hello }
  b:
    uses: echo
    needs: [a]
    params: { output: world }
`);
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  p.takeInvocations();
  const obj = (await p.run(['path', 'a', 'out.txt'])).stdout.trim();
  const bytes = readFileSync(obj);
  bytes[2] = bytes[2]! ^ 0xff; // same size, different content
  chmodSync(obj, 0o644);
  writeFileSync(obj, bytes);

  r = await p.run(['verify']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`CORRUPTED ${obj.replace(/[/.]/g, '\\$&')}.*used by a`));

  r = await p.run(['status']);
  assert.match(r.stdout, /corrupted/);
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /queued\s+a \(output corrupted \(out.txt: digest\)\)/);
  assert.deepEqual(p.takeInvocations(), ['a'], 'same bytes again: b is cut off early');
  r = await p.run(['verify']);
  assert.equal(r.code, 0, r.stdout);

  // Drop stage b: gc removes its record and its two objects (out.txt and log), keeps a.
  p.write(`stages:
  a:
    uses: echo
    params: { output: hello }
`);
  r = await p.run(['gc', '--dry-run']);
  assert.match(r.stdout, /would remove 2 objects, 1 run records/);
  r = await p.run(['gc']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /removed 2 objects, 1 run records.*reclaimed/);
  r = await p.run(['run', '--reporter', 'plain']);
  assert.deepEqual(p.takeInvocations(), []);
  r = await p.run(['verify']);
  assert.equal(r.code, 0, r.stdout);
});

test('gc keeps the work dir (resume state) of an instance whose key waits on an upstream re-run, and drops stale ones', async () => {
  const p = new Project(`stages:
  a:
    uses: echo
    params: { output: one }
  b:
    uses: echo
    needs: [a]
    params: { output: two, fail: true }
`);
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 1, 'b fails');
  const workRoot = join(p.dir, 'cache', 'work');
  const dirs = readdirSync(workRoot);
  assert.equal(dirs.length, 1, 'the failed instance left its work dir');
  const owned = join(workRoot, dirs[0]!);
  assert.deepEqual(JSON.parse(readFileSync(join(owned, '.dag-owner.json'), 'utf8')), { id: 'b' });
  // a changes: b's key is unknown until a re-runs, and a may well reproduce its output.
  p.write(`stages:
  a:
    uses: echo
    params: { output: one, salt: 2 }
  b:
    uses: echo
    needs: [a]
    params: { output: two, fail: true }
`);
  r = await p.run(['gc']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(owned), 'gc kept the work dir of b (pending)');
  // b leaves the pipeline: its work dir is garbage now.
  p.write(`stages:
  a:
    uses: echo
    params: { output: one, salt: 2 }
`);
  r = await p.run(['gc']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(owned), 'gc removed the work dir of a dropped instance');
});
