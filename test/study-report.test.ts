/**
 * Unit tests of the study's claims logic (on crafted numbers), the vega-lite chart specs
 * rendered headlessly to SVG and PNG, and the whole report built from in-memory records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, buildTable2, type CcaSummary } from '../src/study/aggregate.ts';
import { evaluateClaims, claimLine } from '../src/study/claims.ts';
import { figure3Spec, figure5Spec, renderSvg, svgToPng } from '../src/study/charts.ts';
import { filterGrid, grayToPng } from '../src/study/filter-grid.ts';
import { LAYERS, type Layer } from '../src/study/names.ts';
import { ALL_PAIRS } from '../src/study/pairs.ts';
import { buildReport, type StudyResults } from '../src/study/report.ts';
import type { AucRecord, CcaRecord, SimilarityRecord } from '../src/study/records.ts';

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
      { source: 'IN', layer: 'conv1', n: 5, slope: -1, intercept: 1, r: -0.5 },
      { source: 'IN', layer: 'block1', n: 5, slope: 0.2, intercept: 1, r: 0.1 },
    ],
    table2: buildTable2(aucs, { sources: ['IN', 'RIN'] }),
  });
  const get = (id: string) => claims.find((c) => c.id === id)!;
  assert.deepEqual([get('predictions-agree').holds, get('predictions-agree').of], [1, 2]);
  assert.deepEqual([get('gain-vs-similarity').holds, get('gain-vs-similarity').of], [1, 2]);
  assert.equal(get('transfer-helps').verdict, 'fails');
  assert.equal(get('natural-competitive').verdict, 'fails');
});

test('chart specs render headlessly to SVG and PNG', async () => {
  const sums = [summary('k', 'A-ft~A', [0.9, 0.8, 0.7, 0.6, 0.5]), summary('k', 'A~B', [0.5, 0.4, 0.3, 0.3, 0.2])];
  const svg = await renderSvg(figure3Spec(sums, { target: 'k', a: 'IN', b: 'RIN' }));
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /IN vs IN\^FT/);
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

function fakeResults(): StudyResults {
  const auc: AucRecord[] = [];
  const cca: CcaRecord[] = [];
  const similarity: SimilarityRecord[] = [];
  const v = (x: number) => ({ conv1: x, block1: x - 0.1, block2: x - 0.2, block3: x - 0.3, block4: x - 0.4 });
  for (const t of ['alpha', 'beta']) {
    for (const fold of [1, 2]) {
      for (const [s, f, a] of [['IN', false, 0.9], ['IN', true, 0.85], ['RIN', false, 0.8], ['RIN', true, 0.75], ['random', false, 0.6]] as const) {
        auc.push({ target: t, source: s, freeze: f, fold, auc: a + fold / 100 });
      }
      cca.push({ model1: `${t}-RIN-freezeFalse`, model2: 'RIN', fold, stimuli: t, values: v(0.8) });
      cca.push({ model1: `${t}-IN-freezeFalse`, model2: 'IN', fold, stimuli: t, values: v(0.9) });
      cca.push({ model1: 'random', model2: 'random', fold, stimuli: t, values: v(0.7) });
      similarity.push({ target: t, model1: 'IN', model2: 'RIN', freeze: false, fold, prob: 'real', value: 0.9 });
      similarity.push({ target: t, model1: 'IN', model2: 'RIN', freeze: false, fold, prob: 'rand', value: 0.8 });
    }
  }
  const gain = cca
    .filter((r) => r.model2 !== 'random')
    .map((r) => ({ ...r, target: r.stimuli, source: r.model2, auc: 0.9, aucRandom: 0.6, gain: 0.5 }));
  const fits = LAYERS.flatMap((layer) => ['IN', 'RIN'].map((source) => ({ source, layer, n: 4, slope: -0.5, intercept: 1, r: -0.3 })));
  const bands = LAYERS.flatMap((layer) => ['IN', 'RIN'].flatMap((source) => [0.5, 0.9].map((x) => ({ source, layer, x, fit: 1 - 0.5 * x, lo: 0.9 - 0.5 * x, hi: 1.1 - 0.5 * x }))));
  const kernel = { data: new Float32Array(7 * 7 * 3 * 8).map((_, i) => Math.sin(i)), shape: [7, 7, 3, 8] as [number, number, number, number] };
  return { a: 'IN', b: 'RIN', auc, cca, similarity, gain, fits, bands, filters: [{ source: 'IN', kernel }, { source: 'RIN', kernel }] };
}

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
  assert.match(md, /holds for 2\/2 targets/);
  const html = String(file('report.html'));
  assert.match(html, /<u>91\.5±0\.7<\/u>/);
  assert.match(html, /<svg/);
  const png = file('figures/fig6_gain_vs_cca.png') as Buffer;
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  assert.equal(built.table2.rows.length, 2);
});
