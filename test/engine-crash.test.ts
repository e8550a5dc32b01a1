/**
 * Crash safety and concurrency through the real CLI: a `dag run` killed with SIGKILL in
 * the middle leaves complete entries or none, and two `dag run` processes on one cache
 * both finish with every instance computed once.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collect, Project } from './fixtures/kinds/_rig.ts';

test('SIGKILL mid-run, then re-run: finished instances are kept, nothing partial is visible', async () => {
  const p = new Project(`stages:
  slow:
    uses: echo
    matrix: { k: [1, 2, 3] }
    params: { output: "\${k}", sleepMs: 1500, files: 3 }
`);
  const child = p.spawn(['run', '--jobs', '1', '--reporter', 'plain']);
  const done = collect(child);
  let seen = '';
  await new Promise<void>((res) => {
    child.stdout!.on('data', (d: Buffer | string) => {
      seen += String(d);
      // Kill once the first instance is published and the second has started.
      if (/done\s+slow\[k=1\]/.test(seen) && /started\s+slow\[k=2\]/.test(seen)) res();
    });
  });
  child.kill('SIGKILL');
  await done;
  assert.deepEqual(p.takeInvocations(), ['slow[k=1]']);

  // Whatever is in the store now is complete and verifiable.
  let r = await p.run(['verify']);
  assert.equal(r.code, 0, r.stdout + r.stderr);

  r = await p.run(['run', '--jobs', '2', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /cached\s+slow\[k=1\]/);
  const rerun = p.takeInvocations();
  assert.ok(!rerun.includes('slow[k=1]'), `k=1 re-ran: ${rerun.join(', ')}`);
  assert.deepEqual(rerun.filter((x) => x !== 'slow[k=1]'), ['slow[k=2]', 'slow[k=3]']);
  for (const k of [1, 2, 3]) {
    const c = await p.run(['cat', `slow[k=${k}]`, 'parts/part-2.txt']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, `slow[k=${k}] 2\n`.repeat(1000));
  }
  r = await p.run(['verify']);
  assert.equal(r.code, 0, r.stdout);
});

test('two dag run processes on one cache both finish and compute each instance once', async () => {
  const p = new Project(`stages:
  a:
    uses: echo
    matrix: { k: [1, 2] }
    params: { output: "\${k}", sleepMs: 600 }
  b:
    uses: echo
    needs: [a]
    params: { output: b }
`);
  const [r1, r2] = await Promise.all([p.run(['run', '--reporter', 'plain']), p.run(['run', '--reporter', 'plain'])]);
  assert.equal(r1.code, 0, r1.stderr + r1.stdout);
  assert.equal(r2.code, 0, r2.stderr + r2.stdout);
  assert.deepEqual(p.takeInvocations(), ['a[k=1]', 'a[k=2]', 'b']);
  const r = await p.run(['status']);
  assert.match(r.stdout, /3 instances — 3 cached/);
});

test('two concurrent dag runs split the work: locks are taken when an instance starts, not when queued', async () => {
  const p = new Project(`stages:
  w:
    uses: echo
    matrix: { k: [1, 2, 3, 4] }
    params: { output: "\${k}", sleepMs: 2000 }
`);
  // One slot each: a run that locked every queued instance up front would leave the other nothing to do.
  const [r1, r2] = await Promise.all([p.run(['run', '-j', '1', '--reporter', 'plain']), p.run(['run', '-j', '1', '--reporter', 'plain'])]);
  assert.equal(r1.code, 0, r1.stderr + r1.stdout);
  assert.equal(r2.code, 0, r2.stderr + r2.stdout);
  const ran = (r: { stdout: string }): number => (r.stdout.match(/^done\s/gm) ?? []).length;
  assert.ok(ran(r1) >= 1 && ran(r2) >= 1, `both runs compute:\n${r1.stdout}\n---\n${r2.stdout}`);
  assert.equal(ran(r1) + ran(r2), 4, 'each instance computed by exactly one run');
  assert.deepEqual(p.takeInvocations(), ['w[k=1]', 'w[k=2]', 'w[k=3]', 'w[k=4]']);
});

test('SIGTERM stops the workers, publishes nothing partial, releases locks, exits 130', async () => {
  const p = new Project(`stages:
  long:
    uses: echo
    params: { output: 1, sleepMs: 4000, files: 2 }
`);
  const child = p.spawn(['run', '--reporter', 'plain']);
  const done = collect(child);
  let seen = '';
  await new Promise<void>((res) => {
    child.stdout!.on('data', (d: Buffer | string) => {
      seen += String(d);
      if (/started\s+long/.test(seen)) res();
    });
  });
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 130, r.stdout + r.stderr);
  assert.match(r.stdout, /interrupted: 0 ran/);
  assert.deepEqual(readdirSync(join(p.dir, 'cache', 'locks')), []);
  assert.deepEqual(readdirSync(join(p.dir, 'cache', 'runs')), [], 'no record of an interrupted run');
  const st = await p.run(['status']);
  assert.match(st.stdout, /1 never run/);
});
