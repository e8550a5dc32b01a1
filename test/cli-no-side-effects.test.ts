/**
 * `dag run --help` on a pipeline with stale instances runs nothing and changes nothing in
 * the cache; `-n` is `--dry-run`. Through the real CLI (child processes).
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { Project } from './fixtures/kinds/_rig.ts';

const PIPELINE = (out: string) => `stages:
  a:
    uses: echo
    matrix: { x: [1, 2] }
    params: { output: "${out}" }
  b:
    uses: echo
    needs: [a]
    matrix: { x: [1, 2] }
`;

/** Every file under `dir` with its size and mtime: any write shows up. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, e.name);
      if (e.isDirectory()) walk(f);
      else {
        const s = statSync(f, { bigint: true });
        out.push(`${relative(dir, f)} ${s.size} ${s.mtimeNs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

test('dag run --help / -h / help run on stale instances run nothing and leave the cache as it was; -n is a dry run', async () => {
  const p = new Project(PIPELINE('${x}'));
  process.env.DAG_TEST_REUSE = '1';
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(p.takeInvocations().length, 4);
  p.write(PIPELINE('v${x}')); // every instance is now stale
  const cache = join(p.dir, 'cache');
  const before = snapshot(cache);

  for (const argv of [['run', '--help'], ['run', 'a', '-h'], ['help', 'run'], ['run', '--force', 'a', '--help']]) {
    r = await p.run(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: dag run /, argv.join(' '));
    assert.deepEqual(p.takeInvocations(), [], `dag ${argv.join(' ')} ran nothing`);
    assert.deepEqual(snapshot(cache), before, `dag ${argv.join(' ')} left the cache unchanged`);
  }

  r = await p.run(['run', '-n']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /would run\s+a\[x=1\]\s+\(param output: 1 -> "v1"\)/);
  assert.match(r.stdout, /dry run: 2 would run, 2 would run unless cut off early, 0 cached; nothing was executed/);
  assert.deepEqual(p.takeInvocations(), []);

  // They really were stale: a real run runs them.
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(p.takeInvocations(), ['a[x=1]', 'a[x=2]', 'b[x=1]', 'b[x=2]']);
});
