/**
 * Unit tests of the study's tables: CSV layouts round-trip in the paper's column order,
 * Table 2 aggregates folds as pandas does (ddof = 1, the paper's rounding) and marks the best
 * configuration per target, CCA rows are matched to the protocol's comparisons, and the gain
 * join computes the relative gain of Figure 6.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTable2, formatMeanStd, paperRound, summarize, summarizeCca, summarizeSimilarity } from '../src/study/aggregate.ts';
import { parseCsv, formatCsv, CsvError } from '../src/data/csv-text.ts';
import { joinGain, GainJoinError } from '../src/study/gain.ts';
import { ALL_PAIRS, FIGURE3_PAIRS, identifyPair, pairModelNames } from '../src/study/pairs.ts';
import {
  formatAucCsv,
  formatCcaCsv,
  formatSimilarityCsv,
  parseAucCsv,
  parseCcaCsv,
  parseSimilarityCsv,
  type AucRecord,
  type CcaRecord,
} from '../src/study/records.ts';

const auc = (target: string, source: string, freeze: boolean, fold: number, v: number): AucRecord => ({ target, source, freeze, fold, auc: v });

test('AUC.csv, CCA_<t>.csv and similarity.csv keep the paper layout and round-trip', () => {
  const a = [auc('knee', 'ImageNet', false, 1, 0.9), auc('knee', 'random', false, 1, 0.5)];
  const text = formatAucCsv(a);
  assert.equal(text.split('\n')[0], 'target,source,freeze,fold,AUC');
  assert.equal(text.split('\n')[1], 'knee,ImageNet,freezeFalse,fold1,0.9');
  assert.deepEqual(parseAucCsv(text), a);
  const c: CcaRecord[] = [{ model1: 'knee-ImageNet-freezeFalse', model2: 'ImageNet', fold: 2, stimuli: 'knee', values: { conv1: 0.9, block1: 0.8, block2: 0.7, block3: 0.6, block4: 0.5 } }];
  const ct = formatCcaCsv(c);
  assert.equal(ct.split('\n')[0], 'model1,model2,fold,stimuli,conv1,block1,block2,block3,block4');
  assert.deepEqual(parseCcaCsv(ct), c);
  const s = [{ target: 'knee', model1: 'ImageNet', model2: 'RadImageNet', freeze: true, fold: 3, prob: 'rand' as const, value: 0.25 }];
  const st = formatSimilarityCsv(s);
  assert.equal(st, 'target,model1,model2,freeze,fold,prob,value\nknee,ImageNet,RadImageNet,freezeTrue,fold3,rand,0.25\n');
  assert.deepEqual(parseSimilarityCsv(st), s);
});

test('CSV parsing names the file and row of malformed input', () => {
  assert.throws(() => parseAucCsv('target,source,freeze,fold,AUC\nknee,ImageNet,maybe,fold1,0.9\n', 'x.csv'), /x\.csv: row 2, column freeze/);
  assert.throws(() => parseCcaCsv('model1,model2\na,b\n', 'c.csv'), (e: unknown) => e instanceof CsvError && /missing column\(s\) fold/.test(e.message));
  assert.deepEqual(parseCsv('a,b\n"x,""y""",2\n').rows, [['x,"y"', '2']]);
  assert.equal(formatCsv(['a'], [['1,2']]), 'a\n"1,2"\n');
});

test('summarize uses the sample standard deviation (ddof = 1), as pandas', () => {
  const s = summarize([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12);
  assert.ok(Number.isNaN(summarize([1]).std));
  // The paper's Table 2 rounds std to 2 decimals, then half up to 1.
  assert.equal(paperRound(0.648301761930538), 0.7);
  assert.equal(paperRound(8.849484676096418), 8.9);
  assert.equal(formatMeanStd({ mean: 88.24979114452799, std: 4.239, n: 5 }), '88.2±4.2');
});

test('Table 2 has one row per target, columns per source x freeze then random, best underlined', () => {
  const recs: AucRecord[] = [];
  const means: Record<string, number[]> = { 'A-false': [0.9, 0.92], 'A-true': [0.8, 0.82], 'B-false': [0.95, 0.93], 'B-true': [0.7, 0.7], 'random-false': [0.6, 0.62] };
  for (const [k, vs] of Object.entries(means)) {
    const [source, fr] = k.split('-') as [string, string];
    vs.forEach((v, i) => recs.push(auc('t1', source, fr === 'true', i + 1, v)));
  }
  recs.push(auc('t2', 'A', false, 1, 0.7), auc('t2', 'B', false, 1, 0.7), auc('t2', 'random', false, 1, 0.5));
  const t = buildTable2(recs, { sources: ['A', 'B'] });
  assert.deepEqual(t.columns.map((c) => c.label), ['A no-freeze', 'A freeze', 'B no-freeze', 'B freeze', 'random init']);
  assert.deepEqual(t.rows.map((r) => r.target), ['t1', 't2']);
  const row1 = t.rows[0]!;
  assert.deepEqual(row1.cells.map((c) => c?.best), [false, false, true, false, false]);
  assert.equal(formatMeanStd(row1.cells[2]!), '94.0±1.4');
  // Ties at the printed precision are all marked; missing configurations are null.
  const row2 = t.rows[1]!;
  assert.deepEqual(row2.cells.map((c) => (c ? c.best : null)), [true, null, true, null, false]);
});

test('the 14 comparisons resolve to paper-style names and are recognised back', () => {
  const naming = { target: 'knee', a: 'ImageNet', b: 'RadImageNet' };
  assert.equal(ALL_PAIRS.length, 14);
  assert.equal(FIGURE3_PAIRS.length, 5);
  assert.deepEqual(pairModelNames(ALL_PAIRS[0]!, naming), ['knee-RadImageNet-freezeFalse', 'RadImageNet']);
  assert.deepEqual(pairModelNames(ALL_PAIRS[6]!, naming), ['random', 'random']);
  assert.deepEqual(pairModelNames(ALL_PAIRS[13]!, naming), ['knee-RadImageNet-freezeTrue', 'RadImageNet']);
  for (const p of ALL_PAIRS) assert.equal(identifyPair(...pairModelNames(p, naming), naming)?.id, p.id);
  assert.equal(identifyPair('x', 'y', naming), undefined);
});

test('CCA summaries group fold rows per comparison with mean and SD per layer', () => {
  const naming = { target: 'k', a: 'A', b: 'B' };
  const row = (m1: string, m2: string, fold: number, v: number): CcaRecord => ({ model1: m1, model2: m2, fold, stimuli: 'k', values: { conv1: v, block1: v, block2: v, block3: v, block4: v } });
  const { summaries, unknown } = summarizeCca([row('k-A-freezeFalse', 'A', 1, 0.8), row('k-A-freezeFalse', 'A', 2, 0.6), row('odd', 'A', 1, 0.1)], naming);
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0]!.pair.id, 'A-ft~A');
  assert.ok(Math.abs(summaries[0]!.layers.block2.mean - 0.7) < 1e-12);
  assert.ok(Math.abs(summaries[0]!.layers.block2.std - Math.sqrt(0.02)) < 1e-12);
  assert.equal(unknown.length, 1);
});

test('similarity summaries average observed and baseline per target and freeze', () => {
  const s = summarizeSimilarity([
    { target: 'k', model1: 'A', model2: 'B', freeze: false, fold: 1, prob: 'real', value: 0.8 },
    { target: 'k', model1: 'A', model2: 'B', freeze: false, fold: 2, prob: 'real', value: 0.6 },
    { target: 'k', model1: 'A', model2: 'B', freeze: false, fold: 1, prob: 'rand', value: 0.5 },
  ]);
  assert.equal(s.length, 1);
  assert.ok(Math.abs(s[0]!.real.mean - 0.7) < 1e-12);
  assert.equal(s[0]!.rand.mean, 0.5);
});

test('joinGain pairs each pretrained-vs-fine-tuned CCA row with (AUC_FT - AUC_random) / AUC_random of its fold', () => {
  const v = { conv1: 0.9, block1: 0.8, block2: 0.7, block3: 0.6, block4: 0.5 };
  const cca: CcaRecord[] = [
    { model1: 'k-A-freezeFalse', model2: 'A', fold: 1, stimuli: 'k', values: v },
    { model1: 'k-A-freezeFalse', model2: 'k-B-freezeFalse', fold: 1, stimuli: 'k', values: v },
  ];
  const aucs = [auc('k', 'A', false, 1, 0.9), auc('k', 'random', false, 1, 0.6), auc('k', 'A', false, 2, 0.1)];
  const g = joinGain(cca, aucs, { sources: ['A', 'B'] });
  assert.equal(g.length, 1);
  assert.equal(g[0]!.source, 'A');
  assert.ok(Math.abs(g[0]!.gain - 0.5) < 1e-12);
  assert.throws(() => joinGain(cca, [auc('k', 'A', false, 1, 0.9)], { sources: ['A'] }), GainJoinError);
  assert.equal(joinGain(cca, [auc('k', 'A', false, 1, 0.9)], { sources: ['A'], skipMissing: true }).length, 0);
});

test('a reference folder of published CSVs is read, and Figure 6 fits are recomputed from it', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { readReferenceRecords, referenceResults, ReferenceError } = await import('../src/study/reference.ts');
  const dir = mkdtempSync(join(tmpdir(), 'study-ref-'));
  try {
    assert.throws(() => readReferenceRecords(dir), ReferenceError);
    const aucRows: AucRecord[] = [];
    const ccaRows: CcaRecord[] = [];
    for (const fold of [1, 2, 3]) {
      aucRows.push(auc('k', 'ImageNet', false, fold, 0.7 + fold / 10), auc('k', 'random', false, fold, 0.5));
      const x = 0.9 - fold / 10;
      ccaRows.push({ model1: 'k-ImageNet-freezeFalse', model2: 'ImageNet', fold, stimuli: 'k', values: { conv1: x, block1: x, block2: x, block3: x, block4: x } });
    }
    writeFileSync(join(dir, 'AUC.csv'), formatAucCsv(aucRows));
    writeFileSync(join(dir, 'CCA_k.csv'), formatCcaCsv(ccaRows));
    const rec = readReferenceRecords(dir);
    assert.equal(rec.auc.length, 6);
    assert.equal(rec.cca.length, 3);
    assert.deepEqual(rec.similarity, []);
    const seen: number[][] = [];
    const ref = referenceResults(rec, { a: 'ImageNet', b: 'RadImageNet' }, (xs, ys) => {
      seen.push(ys);
      return { slope: -1, intercept: 0, r: -1, n: xs.length };
    });
    assert.equal(ref.fits.length, 5, 'one fit per layer for the source with points');
    assert.deepEqual(seen[0]!.map((g) => Number(g.toFixed(6))), [0.6, 0.8, 1], 'relative gains (0.8-0.5)/0.5, ...');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
