/**
 * End-to-end engine behaviour through the real CLI: caching, exact invalidation, early
 * cutoff, status explanations, --only, --dry-run reasons and NDJSON events.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseEvents, Project } from './fixtures/kinds/_rig.ts';

const PIPELINE = (bSalt: string, aOut = '${x}') => `stages:
  a:
    uses: echo
    matrix: { x: [1, 2] }
    params: { output: "${aOut}" }
  b:
    uses: echo
    needs: [a]
    matrix: { x: [1, 2] }
    params: { output: "b\${x}", salt: ${bSalt} }
  c:
    uses: echo
    needs: [b]
    params: { output: c }
`;

test('cache hits, exact invalidation, early cutoff, status, --only, dry-run, NDJSON', async () => {
  const p = new Project(PIPELINE('0'));
  process.env.DAG_TEST_REUSE = '1'; // invocation counting only: share worker processes

  // First run executes everything; NDJSON events parse and tell the story.
  let r = await p.run(['run', '--reporter', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const events = parseEvents(r.stdout);
  assert.equal(events.filter((e) => e.type === 'done').length, 5);
  assert.equal(events.at(-1)?.type, 'summary');
  assert.deepEqual(p.takeInvocations(), ['a[x=1]', 'a[x=2]', 'b[x=1]', 'b[x=2]', 'c']);

  // Second run executes nothing.
  r = await p.run(['run', '--reporter', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(p.takeInvocations(), []);
  assert.equal(parseEvents(r.stdout).filter((e) => e.type === 'cached').length, 5);

  // A param change of a[x=2] only: status names it old -> new; a dry run gives reasons.
  p.write(PIPELINE('0', '${x}${x}'));
  r = await p.run(['status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /a\[x=1\]\n\s+param output: 1 -> "11"/);
  assert.match(r.stdout, /stale/);
  r = await p.run(['run', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /would run\s+a\[x=1\]\s+\(param output/);
  assert.match(r.stdout, /would run\s+b\[x=1\].*after upstream a\[x=1\]/);
  assert.deepEqual(p.takeInvocations(), [], 'dry run executes nothing');

  // --only b refuses: its input a[x=*] is stale; names the instance and the reason.
  r = await p.run(['run', '--only', 'b']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /a\[x=1\].*needed by b\[x=1\].*param output/);
  assert.deepEqual(p.takeInvocations(), []);

  // The real run re-runs exactly the changed instances and their downstream.
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(p.takeInvocations(), ['a[x=1]', 'a[x=2]', 'b[x=1]', 'b[x=2]', 'c']);

  // Early cutoff: salt changes b's key but not its bytes, so c does not re-run.
  p.write(PIPELINE('1', '${x}${x}'));
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(p.takeInvocations(), ['b[x=1]', 'b[x=2]']);
  assert.match(r.stdout, /cached\s+c/);

  // --only with fresh inputs runs just that stage from cached inputs; --force re-runs.
  r = await p.run(['run', '--only', 'c', '--force', 'c', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(p.takeInvocations(), ['c']);
  assert.match(r.stdout, /queued\s+c \(forced\)/);

  // show / path / cat expose the artifact.
  r = await p.run(['cat', 'c', 'out.txt']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).output, 'c');

  // Editing the kind's code makes every instance stale, and status says so.
  appendFileSync(join(p.dir, 'kinds', 'echo.ts'), '\n// a code change\n');
  r = await p.run(['status']);
  assert.match(r.stdout, /5 instances — 0 cached, 5 stale/);
  assert.match(r.stdout, /a\[x=1\]\n\s+code changed: kinds\/echo.ts/);
});

test('a failing instance stops new work, keeps its log; --keep-going runs independent branches', async () => {
  const p = new Project(`stages:
  bad:
    uses: echo
    params: { fail: true }
  after:
    uses: echo
    needs: [bad]
  other:
    uses: echo
    params: { output: 1 }
`);
  let r = await p.run(['run', '--reporter', 'plain', '--jobs', '1', '--keep-going']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAILED\s+bad: ECHO_FAIL: asked to fail/);
  assert.doesNotMatch(r.stdout, /at run \(/, 'a StageError is shown without a stack');
  assert.match(r.stdout, /skipped\s+after: upstream did not complete: bad/);
  assert.deepEqual(p.takeInvocations(), ['other']);
  r = await p.run(['log', 'bad']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /echo bad on/);
  assert.match(r.stderr, /ECHO_FAIL/);
});
