/**
 * A user's journeys through the real CLI (bin/dag.js in a temp project, fixture kinds as
 * plugins, so it takes seconds): run and find the report (the run's last line, `dag open`),
 * export everything under readable names with working links, compare metrics (`dag metrics`
 * grouped over folds; `dag diff` after a param change, naming the change), `dag ls --json`,
 * `dag graph --svg`, and a failed instance shown as failed by `dag status`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Project } from './fixtures/kinds/_rig.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

function pipeline(bias: number, failing = false): string {
  return `version: 1
plugins: [kinds/score.ts]
stages:
  train:
    uses: score
    matrix: { lr: [0.1, 0.2], fold: [1, 2, 3] }
    params: { lr: "\${lr}", fold: "\${fold}", bias: ${bias} }
  report:
    uses: score
    needs: [train]
    params: { report: true }
${failing ? `  broken:
    uses: score
    params: { fail: true }
` : ''}`;
}

function project(): Project {
  const p = new Project('');
  copyFileSync(join(HERE, 'fixtures', 'kinds', 'score.ts'), join(p.dir, 'kinds', 'score.ts'));
  writeFileSync(join(p.dir, 'pipeline.yaml'), pipeline(0));
  return p;
}

test('run names the report; open gives a browsable path; export lays everything out with working links', async () => {
  const p = project();
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  const line = /^report: (.+)$/m.exec(r.stdout);
  assert.ok(line, `the run names its report:\n${r.stdout}`);
  const report = line[1]!;
  assert.ok(report.endsWith('report.html') && existsSync(report));
  assert.ok(existsSync(join(dirname(report), 'figures', 'curve.svg')), 'the figures sit next to the report');

  r = await p.run(['open', 'report', '--no-open']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), report, 'open prints the same view');
  assert.match(readFileSync(r.stdout.trim(), 'utf8'), /^<!doctype html>/);
  r = await p.run(['open', 'train[lr=0.1,fold=1]', '--no-open']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().endsWith('metrics.json'), 'the only output is the default');
  r = await p.run(['open', 'report', 'nope.txt', '--no-open']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no output 'nope.txt'; outputs: .*report.html/);

  const to = join(p.dir, 'exported');
  r = await p.run(['export', '--to', to]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exported 7 instances, 10 files/);
  const metrics = join(to, 'train', 'lr=0.1,fold=1', 'metrics.json');
  assert.ok(existsSync(metrics));
  const show = await p.run(['path', 'train[lr=0.1,fold=1]', 'metrics.json']);
  const object = show.stdout.trim();
  assert.equal(statSync(metrics).ino, statSync(object).ino, 'a hard link to the cache object: no extra space');
  for (const [file, links] of [['report.md', /\]\(([^)]+)\)/g], ['report.html', /(?:src|href)="([^"]+)"/g]] as const) {
    const text = readFileSync(join(to, 'report', file), 'utf8');
    const targets = [...text.matchAll(links)].map((m) => m[1]!);
    assert.ok(targets.length >= 2, `${file} has links`);
    for (const t of targets) assert.ok(existsSync(resolve(to, 'report', t)), `${file}: ${t} resolves in the export`);
  }
  const index = JSON.parse(readFileSync(join(to, 'dag-export.json'), 'utf8')) as { instances: Array<{ id: string; dir: string }> };
  assert.equal(index.instances.find((i) => i.id === 'report')?.dir, 'report');

  r = await p.run(['export', 'train', '--to', join(p.dir, 'copies'), '--copy']);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(statSync(join(p.dir, 'copies', 'train', 'lr=0.1,fold=1', 'metrics.json')).ino, statSync(object).ino, '--copy makes copies');
  r = await p.run(['export']);
  assert.equal(r.code, 2, 'no --to is a usage error');
});

test('compare: metrics grouped over folds, diff after a param change, ls --json, graph --svg, failed status', async () => {
  const p = project();
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);

  r = await p.run(['metrics']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /train: 6 instances, mean ± sd over fold/);
  // lr 0.1: auc 0.61, 0.62, 0.63 -> 0.62 ± 0.01; nTrain is constant and hidden.
  assert.match(r.stdout, /0\.1\s+3\s+0\.62 ± 0\.01/);
  assert.match(r.stdout, /0\.2\s+3\s+0\.72 ± 0\.01/);
  assert.match(r.stdout, /nested\.best/);
  assert.ok(!/nTrain/.test(r.stdout.split('\n').find((l) => l.includes('auc')) ?? ''), 'constant field hidden');
  r = await p.run(['metrics', '--json']);
  const rows = JSON.parse(r.stdout) as Array<{ id: string; metrics: Record<string, number> }>;
  assert.equal(rows.length, 6);
  assert.equal(rows.find((x) => x.id === 'train[lr=0.2,fold=3]')?.metrics.auc, 0.5 + 0.2 + 0.03);
  r = await p.run(['metrics', '--csv', '--metric', 'auc']);
  assert.equal(r.stdout.split('\n')[0], 'id,stage,lr,fold,current,auc');

  r = await p.run(['diff']);
  assert.match(r.stdout, /no metric moved/);
  writeFileSync(join(p.dir, 'pipeline.yaml'), pipeline(0.05));
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  r = await p.run(['diff']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /train\[lr=0\.1,fold=1\]\n\s+changed: param bias: 0 -> 0\.05\n\s+metric\s+old\s+new\s+change\n\s+auc\s+0\.61\s+0\.66\s+\+0\.05/);
  assert.equal((r.stdout.match(/changed: param bias/g) ?? []).length, 6);
  r = await p.run(['metrics', '--diff', '--json']);
  assert.equal((JSON.parse(r.stdout) as unknown[]).length, 6);

  r = await p.run(['ls', '--json']);
  const ls = JSON.parse(r.stdout) as Array<{ id: string; state: string; bytes: number }>;
  assert.equal(ls.length, 7);
  assert.ok(ls.every((x) => x.state === 'cached' && x.bytes > 0));
  r = await p.run(['ls']);
  assert.match(r.stdout.split('\n')[0]!, /^instance\s+state\s+ran for\s+outputs/);

  writeFileSync(join(p.dir, 'pipeline.yaml'), pipeline(0.05, true));
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 1);
  r = await p.run(['status']);
  assert.match(r.stdout, /1 failed/);
  assert.match(r.stdout, /failed \(1\):\n\s+broken\n\s+SCORE_FAIL: asked to fail/);
  const svg = join(p.dir, 'graph.svg');
  r = await p.run(['graph', '--svg', svg]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(svg, 'utf8');
  assert.match(text, /^<svg xmlns/);
  assert.match(text, /<title>broken: failed<\/title>/);
  assert.match(text, /<title>train: cached<\/title>/);
});
