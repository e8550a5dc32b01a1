/**
 * End to end: a reduced copy of the default study pipeline (one synthetic target x 2 folds,
 * both sources, random init, resnet-micro at 32 px, 1 epoch; 28 instances, so it stays near a
 * minute of CPU on 2 cores; multi-target aggregation is covered by test/study-report.test.ts) through the real CLI in a temp dir. Checks every artifact of
 * the report (tables with the expected rows in the paper's layouts, SVG and PNG figures), that
 * a second run executes nothing, and that `--only cca` after a CCA parameter change runs
 * exactly the CCA instances.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPage } from './fixtures/chromium.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DAG = join(ROOT, 'bin', 'dag.js');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pipeline(repeats: number): string {
  return `version: 1
seed: 0
cache: cache
datasets:
  xray:  { family: radiology, classes: 2, count: 48, seed: 11 }
sources:
  natural: { family: natural, classes: 2, count: 48, seed: 21 }
  medical: { family: radiology, classes: 2, count: 48, seed: 22 }
folds: [1, 2]
random_inits: [1, 2]
stages:
  source-data:
    uses: preprocess
    matrix: { source: $sources }
    params: { adapter: synthetic, family: "\${source.family}", classes: "\${source.classes}", count: "\${source.count}", synthetic_seed: "\${source.seed}", size: 32, folds: 2 }
  pretrain:
    uses: pretrain
    needs: [source-data]
    matrix: { source: $sources }
    params: { variant: resnet-micro, epochs: 1, batch: 24, augment: false }
  preprocess:
    uses: preprocess
    matrix: { dataset: $datasets }
    params: { adapter: synthetic, family: "\${dataset.family}", classes: "\${dataset.classes}", count: "\${dataset.count}", synthetic_seed: "\${dataset.seed}", size: 32, folds: 2 }
  finetune:
    uses: finetune
    needs: [preprocess, pretrain]
    matrix: { dataset: $datasets, source: [natural, medical, random], freeze: [false], fold: $folds }
    params: { fold: "\${fold}", freeze: "\${freeze}", variant: resnet-micro, epochs: 1, lr: 0.001, batch: 24, augment: false }
  extract-finetuned:
    uses: extract
    needs: [preprocess, finetune]
    matrix: { dataset: $datasets, source: [natural, medical], freeze: [false], fold: $folds }
    params: { fold: "\${fold}", points: 200, channels: 8 }
  extract-source:
    uses: extract
    needs: [preprocess, pretrain]
    matrix: { dataset: $datasets, source: $sources, fold: $folds }
    params: { fold: "\${fold}", points: 200, channels: 8 }
  extract-random:
    uses: extract
    needs: [preprocess]
    matrix: { dataset: $datasets, init: $random_inits, fold: $folds }
    params: { fold: "\${fold}", randomSeed: "\${init}", variant: resnet-micro, points: 200, channels: 8 }
  cca:
    uses: cca
    needs: [extract-finetuned, extract-source, extract-random]
    matrix: { dataset: $datasets, fold: $folds }
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical }, targetPoints: 200, channels: 8, repeats: ${repeats} }
  predsim:
    uses: predsim
    needs: [finetune]
    matrix: { dataset: $datasets }
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical } }
  correlate-gain:
    uses: correlate-gain
    needs: [finetune, cca]
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical }, resamples: 50, grid: 10 }
  report:
    uses: report
    needs: [correlate-gain, cca, predsim, pretrain, preprocess, source-data]
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical }, title: 'Mini <script>alert(1)</script> & study' }
`;
}

function dag(dir: string, ...args: string[]): { status: number | null; out: string; started: string[] } {
  const r = spawnSync(process.execPath, [DAG, ...args, '-f', join(dir, 'pipeline.yaml'), '--reporter', 'plain'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, DAG_BACKEND: process.env.DAG_BACKEND ?? 'auto' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  const started = [...out.matchAll(/^started\s+(\S+)/gm)].map((m) => m[1]!);
  return { status: r.status, out, started };
}

/** Output paths of one instance (relative path -> file in the store), from one `dag show`. */
function outputsOf(dir: string, instance: string): Map<string, string> {
  const r = spawnSync(process.execPath, [DAG, 'show', instance, '-f', join(dir, 'pipeline.yaml')], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, `dag show ${instance}: ${r.stderr}`);
  const files = new Map<string, string>();
  for (const m of r.stdout.matchAll(/^\s+(\S+)\s+[\d.]+\s*\S*B\s+(\/\S+)$/gm)) files.set(m[1]!, m[2]!);
  return files;
}

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(','));
}

test('the study pipeline runs end to end through the CLI, caches, and re-runs only CCA', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dag-e2e-study-'));
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), pipeline(2));
    const first = dag(dir, 'run');
    assert.equal(first.status, 0, first.out.slice(-4000));
    assert.equal(first.started.length, 2 + 2 + 1 + 6 + 4 + 4 + 4 + 2 + 1 + 1 + 1, 'every instance ran once');

    // Tables in the paper's layouts with the expected rows.
    const report = outputsOf(dir, 'report');
    const output = (_instance: string, file: string): string => {
      const p = report.get(file);
      assert.ok(p, `report has no output ${file} (has ${[...report.keys()].join(', ')})`);
      return p;
    };
    const auc = csvRows(output('report', 'tables/AUC.csv'));
    assert.deepEqual(auc[0], ['target', 'source', 'freeze', 'fold', 'AUC']);
    assert.equal(auc.length - 1, 3 * 2, '(Natural, Medical, random) x folds');
    assert.deepEqual(new Set(auc.slice(1).map((r) => r[1])), new Set(['Natural', 'Medical', 'random']));
    for (const t of ['xray']) {
      const cca = csvRows(output('report', `tables/CCA_${t}.csv`));
      assert.deepEqual(cca[0], ['model1', 'model2', 'fold', 'stimuli', 'conv1', 'block1', 'block2', 'block3', 'block4']);
      assert.equal(cca.length - 1, 5 * 2, 'the five Figure 3 comparisons x folds');
      assert.deepEqual(cca[1]!.slice(0, 4), [`${t}-Medical-freezeFalse`, 'Medical', 'fold1', t]);
      for (const r of cca.slice(1)) for (const v of r.slice(4)) assert.ok(Number(v) >= 0 && Number(v) <= 1 + 1e-9, `CCA value ${v}`);
    }
    const sim = csvRows(output('report', 'tables/similarity.csv'));
    assert.deepEqual(sim[0], ['target', 'model1', 'model2', 'freeze', 'fold', 'prob', 'value']);
    assert.equal(sim.length - 1, 2 * 2, 'folds x (real, rand)');
    assert.equal(csvRows(output('report', 'tables/simVSaucNatural.csv')).length - 1, 2);
    const table2 = csvRows(output('report', 'tables/table2.csv'));
    assert.equal(table2.length - 1, 3);

    const md = readFileSync(output('report', 'report.md'), 'utf8');
    assert.match(md, /Table 2/);
    assert.match(md, /^# Mini &lt;script>alert\(1\)&lt;\/script> &amp; study$/m, 'title HTML escaped in report.md');
    assert.doesNotMatch(md, /<script/);
    assert.match(md, /<ins>/, 'best configuration underlined');
    assert.match(md, /(holds|partly|fails): \d+\/\d+ targets/, 'claims stated with counts');
    const html = readFileSync(output('report', 'report.html'), 'utf8');
    assert.match(html, /<u>/);
    assert.doesNotMatch(html, /<script/, 'title HTML escaped in report.html');
    assert.ok((html.match(/<svg/g) ?? []).length >= 4, 'figures inlined');
    // The title block says the data are synthetic, in both documents, before any result.
    for (const doc of [md, html]) {
      const head = doc.slice(0, doc.search(/claims, checked/));
      assert.match(head, /Data: synthetic/);
      assert.match(head, /xray: 48 images, 2 classes, 32 px, synthetic/);
      assert.match(head, /natural: 48 images, 2 classes, 32 px, synthetic/);
    }

    // The report folder as dag export lays it out, opened in headless Chromium: every link resolves.
    const folder = join(dir, 'report-folder');
    for (const [rel, file] of report) {
      mkdirSync(dirname(join(folder, rel)), { recursive: true });
      copyFileSync(file, join(folder, rel));
    }
    const page = await renderPage(join(folder, 'report.html'));
    assert.deepEqual(page.broken, [], 'every href/src of the real report resolves');
    assert.ok(page.figures.length >= 4 && page.figures.every((f) => f.width > 100 && f.marks > 0), JSON.stringify(page.figures));

    const sharp = (await import('sharp')).default;
    for (const f of ['fig3_xray', 'fig4_conv1_filters', 'fig5_similarity', 'fig6_gain_vs_cca']) {
      const svg = readFileSync(output('report', `figures/${f}.svg`), 'utf8');
      assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\s*$/, `${f}.svg is an SVG document`);
      const png = readFileSync(output('report', `figures/${f}.png`));
      assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, `${f}.png signature`);
      const meta = await sharp(png).metadata();
      assert.equal(meta.format, 'png');
      assert.ok((meta.width ?? 0) > 50 && (meta.height ?? 0) > 50, `${f}.png has a size`);
    }

    // A second run executes nothing.
    const second = dag(dir, 'run');
    assert.equal(second.status, 0, second.out.slice(-2000));
    assert.deepEqual(second.started, []);

    // A CCA parameter change, then --only cca: exactly the CCA instances run.
    writeFileSync(join(dir, 'pipeline.yaml'), pipeline(3));
    const only = dag(dir, 'run', '--only', 'cca');
    assert.equal(only.status, 0, only.out.slice(-2000));
    assert.deepEqual(only.started.sort(), ['cca[dataset=xray,fold=1]', 'cca[dataset=xray,fold=2]']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
