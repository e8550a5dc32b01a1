/**
 * `dag run --executor slurm` on a REAL one-node Slurm cluster (scripts/slurm-local.sh:
 * slurmctld + slurmd + munge, two fake GPUs, no accounting), through the real CLI: same
 * output bytes as a local run, distinct cards for GPU instances, one job array for a wide
 * stage, scancel reported and recovered, a SIGKILLed controller restarted without duplicate
 * work, two controllers on one cache. The cluster is started in before(); if it cannot be,
 * every test fails with the reason (never a silent skip).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collect, parseEvents, Project } from './fixtures/kinds/_rig.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** squeue at most once a second in tests (the default is every 5 s). */
const ENV = { DAG_SLURM_SQUEUE_S: '1' };

before(() => {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'slurm-local.sh'), 'start'], { encoding: 'utf8', timeout: 90_000 });
  if (r.status !== 0) {
    throw new Error(`cannot start the local Slurm cluster with scripts/slurm-local.sh start (exit ${r.status}; needs root and the packages of scripts/setup.d/30-slurm.sh):\n${r.stderr}${r.error ? String(r.error) : ''}`);
  }
});

const slurm = (p: Project, args: string[]) => p.run(['run', '--executor', 'slurm', ...args], ENV);

function submissions(p: Project): Array<{ jobId: string; stage: string; tasks: number }> {
  try {
    return readFileSync(join(p.dir, 'cache', 'slurm', 'submissions.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

test('executor block errors are located (file:line:col), exit 2', async () => {
  const p = new Project(`executor: { type: slurm, time: "soon", sbatch: ["--array=1-3"], partitoin: gpu }
stages:
  a:
    uses: echo
    executor: { array_max: 3 }
`);
  const r = await p.run(['run', '--dry-run']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /pipeline\.yaml:3:\d+: .*'executor\.time' must be a Slurm time limit/);
  assert.match(r.stderr, /pipeline\.yaml:3:\d+: .*sbatch option '--array' is set by dag itself/);
  assert.match(r.stderr, /unknown key 'partitoin' in 'executor'; did you mean 'partition'/);
  assert.match(r.stderr, /pipeline\.yaml:7:\d+: .*'array_max' can only be set in the top-level 'executor' block/);
  const bad = await p.run(['run', '--executor', 'pbs']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--executor <E>' argument 'pbs' is invalid\. Allowed choices are local, slurm/);
});

test('same output bytes as a local run; GPU instances run at once on distinct cards', async () => {
  const yaml = `stages:
  a:
    uses: echo
    matrix: { x: [1, 2, 3] }
    params: { output: "\${x}" }
  g:
    uses: echo
    needs: [a]
    matrix: { y: [1, 2] }
    resources: { gpu: 1 }
    params: { output: "g\${y}", sleepMs: 2500 }
  c:
    uses: echo
    needs: [g]
    params: { output: c, files: 2 }
`;
  const local = new Project(yaml);
  const onSlurm = new Project(yaml);
  const [rl, rs] = await Promise.all([local.run(['run', '--reporter', 'plain', '--gpus', 'none']), slurm(onSlurm, ['--reporter', 'json'])]);
  assert.equal(rl.code, 0, rl.stderr + rl.stdout);
  assert.equal(rs.code, 0, rs.stderr + rs.stdout);
  const events = parseEvents(rs.stdout);
  assert.equal(events.filter((e) => e.type === 'done').length, 6);
  for (const [id, file] of [['a[x=1]', 'out.txt'], ['g[y=2]', 'out.txt'], ['c', 'out.txt'], ['c', 'parts/part-1.txt']] as const) {
    const [l, s] = await Promise.all([local.run(['cat', id, file]), onSlurm.run(['cat', id, file])]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout, l.stdout, `${id} ${file} differs between local and slurm`);
  }
  // Started in Slurm jobs with ids; both GPU instances in one array, on cards 0 and 1, overlapping.
  const started = events.filter((e) => e.type === 'started' && String(e.id).startsWith('g['));
  assert.equal(started.length, 2);
  assert.ok(started.every((e) => typeof e.jobId === 'string' && /^\d+_\d+$/.test(e.jobId as string)), JSON.stringify(started));
  const g = onSlurm.invocations().filter((i) => i.id.startsWith('g['));
  assert.deepEqual(g.map((i) => i.cvd).sort(), ['0', '1']);
  assert.ok(g[0]!.start < g[1]!.end && g[1]!.start < g[0]!.end, 'the two GPU instances ran at the same time');
  assert.equal(submissions(onSlurm).length, 3, 'one array per stage');
  // A warm run under slurm submits nothing.
  const again = await slurm(onSlurm, ['--reporter', 'plain']);
  assert.match(again.stdout, /0 ran, 6 cached/);
  assert.equal(submissions(onSlurm).length, 3);
});

test('a 40-instance stage is one job array: at most a few sbatch calls', async () => {
  const p = new Project(`stages:
  wide:
    uses: echo
    matrix: { k: [${Array.from({ length: 40 }, (_, i) => i + 1).join(', ')}] }
    params: { output: "\${k}" }
`);
  const r = await slurm(p, ['--reporter', 'json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const events = parseEvents(r.stdout);
  assert.equal(events.filter((e) => e.type === 'done').length, 40);
  const subs = submissions(p);
  assert.ok(subs.length <= 3, `${subs.length} sbatch calls`);
  assert.equal(subs.reduce((a, s) => a + s.tasks, 0), 40);
  // Slurm's own view: the array job ids the tasks ran under (SLURM_ARRAY_JOB_ID).
  const arrays = new Set(events.filter((e) => e.type === 'started').map((e) => String(e.jobId).split('_')[0]));
  assert.ok(arrays.size <= 3, `tasks ran in ${arrays.size} arrays`);
  assert.deepEqual([...arrays].sort(), subs.map((s) => s.jobId).sort());
});

test('scancel of a running job is reported with job id, state and log; a re-run completes it', async () => {
  const p = new Project(`stages:
  long:
    uses: echo
    params: { output: 1, sleepMs: 6000 }
`);
  const child = p.spawn(['run', '--executor', 'slurm', '--reporter', 'plain'], ENV);
  const done = collect(child);
  let seen = '';
  const jobId = await new Promise<string>((res) => {
    child.stdout!.on('data', (d: Buffer | string) => {
      seen += String(d);
      const m = /started\s+long on cpu in job (\S+)/.exec(seen);
      if (m) res(m[1]!);
    });
  });
  const c = spawnSync('scancel', [jobId], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  const r = await done;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`FAILED\\s+long: SLURM_CANCELLED: Slurm job ${jobId} ended CANCELLED.*job log: \\S+/0\\.out`));
  const log = await p.run(['log', 'long']);
  assert.match(log.stderr, /SLURM_CANCELLED/);
  assert.match(log.stdout, /Slurm job log/);
  const again = await slurm(p, ['--reporter', 'plain']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /done\s+long/);
});

test('SIGKILL of the controller mid-run, then a restart: finishes without duplicate work', async () => {
  const p = new Project(`stages:
  s:
    uses: echo
    matrix: { k: [1, 2, 3, 4] }
    params: { output: "\${k}", sleepMs: 3000 }
`);
  const child = p.spawn(['run', '--executor', 'slurm', '--reporter', 'plain'], ENV);
  const done = collect(child);
  let seen = '';
  await new Promise<void>((res) => {
    child.stdout!.on('data', (d: Buffer | string) => {
      seen += String(d);
      if ((seen.match(/^started\s/gm) ?? []).length >= 2) res();
    });
  });
  child.kill('SIGKILL');
  await done;
  const wereRunning = [...seen.matchAll(/^started\s+(\S+)/gm)].map((m) => m[1]!);
  const r = await slurm(p, ['--reporter', 'plain']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // The jobs the killed controller left running finish and publish; the restart takes their
  // results (waiting for their locks if they are still running), never runs them again.
  for (const id of wereRunning) {
    assert.doesNotMatch(r.stdout, new RegExp(`^(done|started)\\s+${id.replace(/[[\]]/g, '\\$&')}`, 'm'), `${id} was run again:\n${r.stdout}`);
    assert.match(r.stdout, new RegExp(`^(cached\\s+|waiting\\s+)${id.replace(/[[\]]/g, '\\$&')}`, 'm'));
  }
  assert.deepEqual(p.invocations().map((i) => i.id).sort(), ['s[k=1]', 's[k=2]', 's[k=3]', 's[k=4]'], 'each instance computed once');
  const st = await p.run(['status']);
  assert.match(st.stdout, /4 instances — 4 cached/);
});

test('two controllers on one cache: each instance computed once, both finish', async () => {
  const p = new Project(`stages:
  t:
    uses: echo
    matrix: { k: [1, 2, 3, 4] }
    params: { output: "\${k}", sleepMs: 1500 }
  u:
    uses: echo
    needs: [t]
    params: { output: u }
`);
  const [r1, r2] = await Promise.all([slurm(p, ['--reporter', 'plain']), slurm(p, ['--reporter', 'plain'])]);
  assert.equal(r1.code, 0, r1.stdout + r1.stderr);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.deepEqual(p.invocations().map((i) => i.id).sort(), ['t[k=1]', 't[k=2]', 't[k=3]', 't[k=4]', 'u']);
  const ran = (s: string): number => (s.match(/^done\s/gm) ?? []).length;
  assert.equal(ran(r1.stdout) + ran(r2.stdout), 5, 'no instance published twice');
});
