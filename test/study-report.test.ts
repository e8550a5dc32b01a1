/**
 * Unit tests of the study's claims logic (on crafted numbers), the vega-lite chart specs
 * rendered headlessly to SVG and PNG, and the whole report built from in-memory records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, buildTable2, type CcaSummary } from '../src/study/aggregate.ts';
import { evaluateClaims, claimLine } from '../src/study/claims.ts';
import { figure3Spec, figure5Spec, figure6Spec, renderSvg, svgToPng } from '../src/study/charts.ts';
import { filterGrid, grayToPng } from '../src/study/filter-grid.ts';
import { LAYERS, type Layer } from '../src/study/names.ts';
import { ALL_PAIRS } from '../src/study/pairs.ts';
import { buildReport } from '../src/study/report.ts';
import { fakeResults, SYNTHETIC_DATA } from './fixtures/study-results.ts';
import type { AucRecord } from '../src/study/records.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function summary(target: string, pairId: string, means: number[]): CcaSummary {
  const pair = ALL_PAIRS.find((p) => p.id === pairId)!;
  const layers = {} as Record<Layer, ReturnType<typeof summarize>>;
  LAYERS.forEach((l, k) => (layers[l] = summarize([means[k]!])));
  return { target, pair, model1: 'm1', model2: 'm2', layers, folds: [] };
}

test('layer-wise claims count the targets where the comparison holds in every layer of its range', () => {
  const cca = [
    // t1: A-ft~A above B-ft~B in conv1..block3 -> holds; block4 reversed -> holds too.
    summary('t1', 'A-ft~A', [0.9, 0.8, 0.7, 0.6, 0.2]),
    summary('t1', 'B-ft~B', [0.8, 0.7, 0.6, 0.5, 0.4]),
    // t2: fails at block1 only.
    summary('t2', 'A-ft~A', [0.9, 0.6, 0.7, 0.6, 0.5]),
    summary('t2', 'B-ft~B', [0.8, 0.7, 0.6, 0.5, 0.4]),
  ];
  const claims = evaluateClaims({ a: 'IN', b: 'RIN', cca });
  const c1 = claims.find((c) => c.id === 'pretrained-ft-similarity')!;
  assert.equal(c1.holds, 1);
  assert.equal(c1.of, 2);
  assert.equal(c1.verdict, 'partly');
  assert.match(c1.details[1]!, /^t2: fails in block1/);
  assert.match(claimLine(c1), /IN–IN\^FT > RIN–RIN\^FT in conv1–block3 .*: partly for 1\/2 targets/);
  const c2 = claims.find((c) => c.id === 'block4-reversal')!;
  assert.deepEqual([c2.holds, c2.of, c2.verdict], [1, 2, 'partly']);
  // Claims without numbers are not evaluated rather than counted as failures.
  const c3 = claims.find((c) => c.id === 'ft-diverge')!;
  assert.deepEqual([c3.of, c3.verdict], [0, 'n/a']);
  assert.match(claimLine(c3), /not evaluated/);
});

test('prediction, slope and Table 2 claims follow the numbers', () => {
  const sim = (t: string, real: number, rand: number) => ({ target: t, freeze: false, real: summarize([real]), rand: summarize([rand]) });
  const aucs: AucRecord[] = [
    { target: 't', source: 'IN', freeze: false, fold: 1, auc: 0.8 },
    { target: 't', source: 'RIN', freeze: false, fold: 1, auc: 0.85 },
    { target: 't', source: 'random', freeze: false, fold: 1, auc: 0.9 },
  ];
  const claims = evaluateClaims({
    a: 'IN',
    b: 'RIN',
    similarity: [sim('t', 0.9, 0.8), sim('u', 0.7, 0.75)],
    fits: [
      { source: 'IN', layer: 'conv1', n: 5, slope: -1, intercept: 1, r: -0.5, rLo: -0.8, rHi: -0.1 },
      { source: 'IN', layer: 'block1', n: 5, slope: 0.2, intercept: 1, r: 0.1, rLo: -0.3, rHi: 0.5 },
    ],
    table2: buildTable2(aucs, { sources: ['IN', 'RIN'] }),
  });
  const get = (id: string) => claims.find((c) => c.id === id)!;
  assert.deepEqual([get('predictions-agree').holds, get('predictions-agree').of], [1, 2]);
  assert.deepEqual([get('gain-vs-similarity').holds, get('gain-vs-similarity').of], [1, 2]);
  // The effect size beside the sign: r's range and how many intervals exclude 0.
  assert.equal(get('gain-vs-similarity').effect, 'r from -.50 to .10; 95 % bootstrap interval of r entirely below 0 in 1/2 panels');
  assert.deepEqual(get('gain-vs-similarity').failing, ['IN block1: slope 0.200, r .10 [-.30, .50] (n=5)']);
  assert.equal(get('transfer-helps').verdict, 'fails');
  assert.equal(get('natural-competitive').verdict, 'fails');
});

test('chart specs render headlessly to SVG and PNG', async () => {
  const sums = [summary('k', 'A-ft~A', [0.9, 0.8, 0.7, 0.6, 0.5]), summary('k', 'A~B', [0.5, 0.4, 0.3, 0.3, 0.2])];
  const svg = await renderSvg(figure3Spec(sums, { target: 'k', a: 'IN', b: 'RIN' }));
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  // ^FT is drawn as a superscript, never as a literal caret in the text.
  assert.match(svg, /IN vs IN<tspan baseline-shift="super"[^>]*>FT<\/tspan>/);
  assert.doesNotMatch(svg, />[^<]*\^FT/);
  assert.match(svg, /block4/);
  const png = await svgToPng(svg);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  const spec = figure5Spec([{ target: 'k', model1: 'a', model2: 'b', freeze: true, fold: 1, prob: 'real', value: 1 }]);
  assert.deepEqual((spec.data as { values: unknown[] }).values, [], 'Figure 5 shows no-freeze rows only by default');
});

test('Figure 4 grid PNG is a grayscale image of the first 36 filters', async () => {
  const data = new Float32Array(7 * 7 * 3 * 40).map((_, i) => Math.cos(i));
  const img = filterGrid({ data, shape: [7, 7, 3, 40] });
  const png = await grayToPng(img);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  const sharp = (await import('sharp')).default;
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [img.width, img.height, 1]);
});

test('buildReport writes every table in the paper layout, every figure as SVG + PNG, and both documents', async () => {
  const built = await buildReport(fakeResults(), { notes: ['backend: cpu'] });
  const paths = built.files.map((f) => f.path).sort();
  for (const p of [
    'tables/AUC.csv',
    'tables/CCA_alpha.csv',
    'tables/CCA_beta.csv',
    'tables/similarity.csv',
    'tables/simVSaucIN.csv',
    'tables/simVSaucRIN.csv',
    'tables/table2.csv',
    'tables/fits.csv',
    'figures/fig3_alpha.svg',
    'figures/fig3_alpha.png',
    'figures/fig4_conv1_filters.svg',
    'figures/fig4_IN_conv1.png',
    'figures/fig5_similarity.svg',
    'figures/fig6_gain_vs_cca.png',
    'report.md',
    'report.html',
    'claims.json',
  ]) {
    assert.ok(paths.includes(p), `missing ${p}`);
  }
  const file = (p: string) => built.files.find((f) => f.path === p)!.content;
  assert.equal(String(file('tables/AUC.csv')).trim().split('\n').length, 1 + 2 * 2 * 5);
  // The paper's row order: comparison 1 (B-ft~B) first, then A-ft~A, then random~random; folds ascending.
  const ccaRows = String(file('tables/CCA_alpha.csv')).trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 3).join(','));
  assert.deepEqual(ccaRows, ['alpha-RIN-freezeFalse,RIN,fold1', 'alpha-RIN-freezeFalse,RIN,fold2', 'alpha-IN-freezeFalse,IN,fold1', 'alpha-IN-freezeFalse,IN,fold2', 'random,random,fold1', 'random,random,fold2']);
  const md = String(file('report.md'));
  assert.match(md, /<ins>91\.5±0\.7<\/ins>/, 'best Table 2 cell underlined in Markdown');
  assert.match(md, /holds: 2\/2 targets/);
  const html = String(file('report.html'));
  assert.match(html, /<u>91\.5±0\.7<\/u>/);
  assert.match(html, /<svg/);
  const png = file('figures/fig6_gain_vs_cca.png') as Buffer;
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  assert.equal(built.table2.rows.length, 2);
});

test('new claims: early-layer source similarity like random-random, stronger gain relation for the medical source', () => {
  const cca = [
    summary('t1', 'A~B', [0.56, 0.36, 0.35, 0.32, 0.29]),
    summary('t1', 'random~random', [0.55, 0.36, 0.36, 0.37, 0.36]),
    summary('t2', 'A~B', [0.45, 0.36, 0.35, 0.32, 0.29]),
    summary('t2', 'random~random', [0.55, 0.36, 0.36, 0.37, 0.36]),
  ];
  const fit = (source: string, layer: Layer, r: number) => ({ source, layer, n: 35, slope: r, intercept: 1, r, rLo: r - 0.3, rHi: r + 0.3 });
  const claims = evaluateClaims({ a: 'IN', b: 'RIN', cca, fits: [fit('IN', 'conv1', -0.16), fit('RIN', 'conv1', -0.15), fit('IN', 'block1', -0.03), fit('RIN', 'block1', -0.45)] });
  const early = claims.find((c) => c.id === 'early-layers-like-random')!;
  assert.deepEqual([early.holds, early.of], [1, 2]);
  assert.match(early.failing[0]!, /^t2: conv1 \.450 vs \.550 \(Δ -\.100\)/);
  const stronger = claims.find((c) => c.id === 'stronger-for-medical')!;
  assert.deepEqual([stronger.holds, stronger.of, stronger.unit], [1, 2, 'layers']);
  assert.match(stronger.failing[0]!, /^conv1: RIN r -\.15 \[-\.45, \.15\] vs IN r -\.16/);
});

test('the report says what data it ran on, prints each claim once, and renders superscripts and links', async () => {
  const r = fakeResults();
  const built = await buildReport({ ...r, data: SYNTHETIC_DATA });
  const file = (p: string) => String(built.files.find((f) => f.path === p)!.content);
  for (const doc of [file('report.md'), file('report.html')]) {
    const head = doc.slice(0, doc.indexOf("claims, checked"));
    assert.match(head, /Data: synthetic/, 'the title block says the data are synthetic');
    assert.match(head, /alpha: 150 images, 2 classes, 32 px, synthetic/);
    assert.match(head, /not ImageNet \/ RadImageNet/);
    assert.match(doc, /Synthetic data: the published counts are for the paper's seven medical data sets/);
    assert.match(doc, /thyroid and mammograms were computed at 112 px/);
    assert.doesNotMatch(doc.replace(/aria-[a-z]+="[^"]*"/g, ''), /\^FT/, 'no literal carets');
    assert.match(doc, /IN<sup>FT<\/sup>/);
    assert.doesNotMatch(doc.replace(/href="[^"]*"|\]\([^)]*\)|tables\/[^ <]*/g, ''), /freeze(True|False)/, 'human freeze labels');
    // Each claim's statement appears exactly once.
    for (const c of built.claims) {
      const text = c.statement.replace(/\^FT/g, '<sup>FT</sup>');
      const plain = doc.replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
      assert.equal(plain.split(text).length - 1, 1, `claim printed once: ${c.statement}`);
    }
    assert.doesNotMatch(doc, /pretrained-ft-similarity|gain-vs-similarity:/, 'no internal claim ids');
    assert.match(doc, /all 8 conv1 filters/i, 'Figure 4 titled from the filters shown');
    assert.doesNotMatch(doc, /36 conv1/);
  }
  assert.match(file('report.html'), /<a href="tables\/AUC.csv">tables\/AUC.csv<\/a>/);
  assert.match(file('report.html'), /<a href="figures\/fig6_gain_vs_cca.png">PNG<\/a>/);
  assert.match(file('report.md'), /^- \[tables\/AUC.csv\]\(tables\/AUC.csv\)$/m);
  // A report without data descriptions says so instead of guessing.
  const unknown = String((await buildReport(r)).files.find((f) => f.path === 'report.md')!.content);
  assert.match(unknown, /Data: not recorded/);
});

test('Figure 6 gives each source row its own y range and clips the bands to the points', () => {
  const points = [0.1, 0.3].map((gain, k) => ({ model1: 'x', model2: 'IN', fold: k + 1, stimuli: 't', values: { conv1: 0.5 + k / 10, block1: 0.5, block2: 0.5, block3: 0.5, block4: 0.5 + k / 10 }, target: 't', source: 'IN', auc: 0.9, aucRandom: 0.6, gain }));
  const bands = [{ source: 'IN', layer: 'conv1' as Layer, x: 0.5, fit: 0.2, lo: -3, hi: 4 }];
  const spec = figure6Spec(points, bands, ['IN']) as { data: { values: Array<Record<string, number | string>> }; resolve: { scale: Record<string, string> } };
  const band = spec.data.values.find((v) => v.kind === 'band')!;
  assert.ok((band.lo as number) >= 0.1 - 0.031 && (band.hi as number) <= 0.3 + 0.031, `band clipped to the points' range: ${band.lo} .. ${band.hi}`);
  assert.equal(spec.resolve.scale.y, 'independent');
});

test('real data: names and sizes in the title block; the 112-px and knee caveats follow what this run did', async () => {
  const d = (name: string, adapter: string, size: number, extra: object = {}) => ({ name, role: 'target' as const, adapter, count: 480, classes: ['benign', 'malignant'], size: [size, size] as [number, number], foldSource: 'splits', ...extra });
  const at224 = String((await buildReport({ ...fakeResults(), data: [d('thyroid', 'thyroid', 224), d('knee', 'knee', 112, { kneeLabels: 'mrnet' })] })).files.find((f) => f.path === 'report.md')!.content);
  assert.match(at224, /Data: thyroid, knee/);
  assert.match(at224, /thyroid: 480 images, 2 classes, 224 px, adapter thyroid, folds from the paper's split files/);
  assert.doesNotMatch(at224, /SYNTHETIC/);
  assert.match(at224, /this run evaluated thyroid at 224 px \(finetune evalSize: 112 reproduces the published setting\)/);
  assert.match(at224, /Knee: this run uses MRNet's correct validation meniscus labels/);
  const at112 = String((await buildReport({ ...fakeResults(), data: [d('thyroid', 'thyroid', 224, { evalSize: [112, 112] }), d('knee', 'knee', 112, { kneeLabels: 'study-code' })] })).files.find((f) => f.path === 'report.md')!.content);
  assert.match(at112, /thyroid: .*evaluated at 112 px/);
  assert.doesNotMatch(at112, /computed at 112 px/, 'no 112-px caveat when this run evaluated at 112 too');
  assert.doesNotMatch(at112, /Knee: this run uses/);
});
