/**
 * External `path` inputs through the real CLI: a changed file inside a data folder makes
 * the instance stale ("input file changed"), an untouched folder is a cache hit, and a
 * path that points at nothing is refused with the path named.
 */
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Project } from './fixtures/kinds/_rig.ts';

test('external folder inputs: hashed into the key, changes explained, missing paths refused', async () => {
  const p = new Project(`stages:
  read:
    uses: echo
    params: { input: data }
  lost:
    uses: echo
    params: { input: nowhere }
`);
  const data = join(p.dir, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  for (const f of ['a.png', 'sub/b.png']) {
    writeFileSync(join(data, f), `pixels of ${f}`);
    utimesSync(join(data, f), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  }
  const env = { DAG_TEST_REUSE: '1' };
  let r = await p.run(['run', '--reporter', 'plain', '--keep-going'], env);
  assert.equal(r.code, 1, 'lost fails');
  assert.match(r.stdout, /FAILED\s+lost: PATH_MISSING: input path does not exist: nowhere/);
  assert.deepEqual(p.takeInvocations(), ['read']);

  r = await p.run(['status'], env);
  assert.match(r.stdout, /missing input \(1\):\n\s+lost\n\s+input path does not exist: nowhere/);

  r = await p.run(['run', 'read', '--reporter', 'plain'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(p.takeInvocations(), [], 'unchanged folder: cache hit');

  writeFileSync(join(data, 'sub', 'b.png'), 'other pixels');
  r = await p.run(['status'], env);
  assert.match(r.stdout, /read\n\s+input file changed: data\/sub\/b.png\n/, 'names the file inside the folder');
  r = await p.run(['run', 'read', '--reporter', 'plain'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(p.takeInvocations(), ['read']);

  // An input edited while the stage runs: hashed before, re-checked after, not recorded.
  p.write(`stages:
  read:
    uses: echo
    params: { input: data, touch: data/a.png }
`);
  r = await p.run(['run', '--reporter', 'plain'], env);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED\s+read: INPUT_CHANGED: input changed while the stage ran: data/);
  r = await p.run(['status'], env);
  assert.match(r.stdout, /stale \(1\):\n\s+read\n/, 'nothing was recorded for the edited input');
});
