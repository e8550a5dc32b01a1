/**
 * The study report: every table as CSV in the paper repository's layout, every figure as
 * SVG (vega-lite, rendered headlessly) and PNG (sharp), and `report.md` / `report.html`
 * stating Table 2, the Figure 3-6 numbers and which of the paper's claims hold in this run.
 * Input is in-memory records, so the report stage is a thin adapter and tests need no files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildTable2, formatMeanStd, summarizeCca, summarizeSimilarity, type CcaSummary, type Table2 } from './aggregate.ts';
import { figure3Spec, figure4Spec, figure5Spec, figure6Spec, renderSvg, svgToPng, type VegaLiteSpec } from './charts.ts';
import { claimLine, evaluateClaims, type ClaimResult } from './claims.ts';
import { toHtml, toMarkdown, type Block, type Cell } from './document.ts';
import { filterGrid, grayToPng, type ConvKernel } from './filter-grid.ts';
import { LAYERS, freezeLabel, simVsAucStem } from './names.ts';
import { ALL_PAIRS, pairLabel } from './pairs.ts';
import { formatCsv } from '../data/csv-text.ts';
import {
  formatAucCsv,
  formatBandCsv,
  formatCcaCsv,
  formatFitCsv,
  formatGainCsv,
  formatSimilarityCsv,
  type AucRecord,
  type BandRecord,
  type CcaRecord,
  type FitRecord,
  type GainRecord,
  type SimilarityRecord,
} from './records.ts';

/** Everything a run produced that the report shows. */
export interface StudyResults {
  /** Display names of the natural (A, ImageNet's role) and medical (B, RadImageNet's role) sources. */
  a: string;
  b: string;
  auc: readonly AucRecord[];
  /** CCA rows of every target (`stimuli` = target). */
  cca: readonly CcaRecord[];
  similarity: readonly SimilarityRecord[];
  gain: readonly GainRecord[];
  fits: readonly FitRecord[];
  bands: readonly BandRecord[];
  /** conv1 kernels of the pretrained sources, for Figure 4 (display name -> kernel). */
  filters: ReadonlyArray<{ source: string; kernel: ConvKernel }>;
}

/** The paper's published numbers (from its `results/` CSVs), shown beside ours when given. */
export interface ReferenceResults {
  /** Where they were read from, for the report text. */
  dir: string;
  a: string;
  b: string;
  auc: readonly AucRecord[];
  cca: readonly CcaRecord[];
  similarity: readonly SimilarityRecord[];
  fits: readonly FitRecord[];
}

/** Report options. */
export interface ReportOptions {
  title?: string;
  reference?: ReferenceResults;
  /** Extra lines for the "About this run" section (pipeline, backend, sizes). */
  notes?: readonly string[];
}

/** One output file of the report, relative to the report folder. */
export interface ReportFile {
  path: string;
  content: string | Buffer;
}

/** The built report: its files and the evaluated claims (also written as claims.json). */
export interface BuiltReport {
  files: ReportFile[];
  claims: ClaimResult[];
  table2: Table2;
}

/** A file-name-safe form of a target or source name. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

function uniqueInOrder<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/** Targets in a stable order: first appearance in AUC rows, then in CCA and similarity rows. */
export function targetsOf(r: Pick<StudyResults, 'auc' | 'cca' | 'similarity'>): string[] {
  return uniqueInOrder([...r.auc.map((x) => x.target), ...r.cca.map((x) => x.stimuli), ...r.similarity.map((x) => x.target)]);
}

function ccaSummaries(cca: readonly CcaRecord[], target: string, a: string, b: string): CcaSummary[] {
  const rows = cca.filter((r) => r.stimuli === target);
  const order = new Map(ALL_PAIRS.map((p, k) => [p.id, k]));
  return summarizeCca(rows, { target, a, b }).summaries.sort((x, y) => order.get(x.pair.id)! - order.get(y.pair.id)!);
}

/** CCA rows of one target, in the paper's row order (comparison, then fold). */
function ccaRowsInPaperOrder(cca: readonly CcaRecord[], target: string, a: string, b: string): CcaRecord[] {
  const rows = cca.filter((r) => r.stimuli === target);
  const rank = new Map<string, number>();
  ccaSummaries(cca, target, a, b).forEach((s, k) => rank.set(`${s.model1}\u0000${s.model2}`, k));
  return [...rows].sort(
    (x, y) =>
      (rank.get(`${x.model1}\u0000${x.model2}`) ?? 1e9) - (rank.get(`${y.model1}\u0000${y.model2}`) ?? 1e9) || x.fold - y.fold,
  );
}

function table2Csv(t: Table2): string {
  const rows: Array<Array<string | number | boolean>> = [];
  for (const row of t.rows) {
    row.cells.forEach((c, k) => {
      const col = t.columns[k]!;
      if (c) rows.push([row.target, col.source, freezeLabel(col.freeze), c.mean, c.std, c.n, c.best]);
    });
  }
  return formatCsv(['target', 'source', 'freeze', 'mean', 'std', 'n', 'best'], rows);
}

function table2Block(t: Table2, caption: string): Block {
  return {
    type: 'table',
    caption,
    header: ['target', ...t.columns.map((c) => c.label)],
    rows: t.rows.map((r) => [r.target, ...r.cells.map((c): Cell => (c ? { text: formatMeanStd(c), best: c.best } : { text: '–' }))]),
  };
}

const f3 = (m: { mean: number; std: number }): string =>
  Number.isFinite(m.mean) ? (Number.isFinite(m.std) ? `${m.mean.toFixed(3)}±${m.std.toFixed(3)}` : m.mean.toFixed(3)) : 'n/a';

async function figure(spec: VegaLiteSpec, name: string, caption: string, files: ReportFile[]): Promise<Block> {
  const svg = await renderSvg(spec);
  const png = await svgToPng(svg);
  files.push({ path: `figures/${name}.svg`, content: svg }, { path: `figures/${name}.png`, content: png });
  return { type: 'figure', svg: `${name}.svg`, png: `${name}.png`, svgText: svg, caption };
}

/** Evaluate the claims on a set of results (ours or the paper's). */
export function claimsOf(r: { a: string; b: string; auc: readonly AucRecord[]; cca: readonly CcaRecord[]; similarity: readonly SimilarityRecord[]; fits: readonly FitRecord[] }): ClaimResult[] {
  const targets = targetsOf(r);
  return evaluateClaims({
    a: r.a,
    b: r.b,
    table2: buildTable2(r.auc, { sources: [r.a, r.b] }),
    cca: targets.flatMap((t) => ccaSummaries(r.cca, t, r.a, r.b)),
    similarity: summarizeSimilarity(r.similarity),
    fits: r.fits,
  });
}

/** Build every report file in memory (figures rendered, tables formatted). */
export async function buildReport(results: StudyResults, opts: ReportOptions = {}): Promise<BuiltReport> {
  const { a, b } = results;
  const ref = opts.reference;
  const title = opts.title ?? 'Revisiting hidden representations in transfer learning: study report';
  const files: ReportFile[] = [];
  const blocks: Block[] = [];
  const targets = targetsOf(results);
  const table2 = buildTable2(results.auc, { sources: [a, b], targets });
  const claims = claimsOf(results);
  const refClaims = ref ? claimsOf(ref) : undefined;
  const folds = uniqueInOrder(results.auc.map((r) => r.fold)).length;

  // Tables in the paper repository's layouts.
  files.push({ path: 'tables/AUC.csv', content: formatAucCsv(results.auc) });
  for (const t of targets) {
    const rows = ccaRowsInPaperOrder(results.cca, t, a, b);
    if (rows.length) files.push({ path: `tables/CCA_${safeName(t)}.csv`, content: formatCcaCsv(rows) });
  }
  files.push({ path: 'tables/similarity.csv', content: formatSimilarityCsv(results.similarity) });
  for (const s of [a, b]) {
    const rows = results.gain.filter((g) => g.source === s);
    if (rows.length) files.push({ path: `tables/simVSauc${safeName(simVsAucStem(s))}.csv`, content: formatCcaCsv(rows) });
  }
  files.push({ path: 'tables/gain.csv', content: formatGainCsv(results.gain) });
  files.push({ path: 'tables/fits.csv', content: formatFitCsv(results.fits) });
  files.push({ path: 'tables/bands.csv', content: formatBandCsv(results.bands) });
  files.push({ path: 'tables/table2.csv', content: table2Csv(table2) });
  files.push({ path: 'claims.json', content: JSON.stringify({ claims, reference: refClaims ?? null }, null, 2) + '\n' });

  blocks.push({ type: 'heading', level: 1, text: title });
  blocks.push({
    type: 'paragraph',
    text: `${targets.length} target(s) (${targets.join(', ')}), sources ${a} and ${b} plus random init, ${folds} fold(s). ${a} plays ImageNet's role and ${b} RadImageNet's in the comparisons below.`,
  });
  if (opts.notes?.length) blocks.push({ type: 'list', items: [...opts.notes] });

  blocks.push({ type: 'heading', level: 2, text: "The paper's claims in this run" });
  blocks.push({
    type: 'table',
    header: ['claim', 'this run', 'paper (published CSVs)', ...(refClaims ? [`reference (${ref!.dir})`] : [])],
    rows: claims.map((c, k) => [
      c.statement,
      c.verdict === 'n/a' ? 'n/a' : `${c.verdict}: ${c.holds}/${c.of} ${c.unit}`,
      c.paper,
      ...(refClaims ? [`${refClaims[k]!.verdict}: ${refClaims[k]!.holds}/${refClaims[k]!.of}`] : []),
    ]),
  });
  blocks.push({ type: 'list', items: claims.map(claimLine) });
  for (const c of claims.filter((x) => x.details.length)) {
    blocks.push({ type: 'paragraph', text: `${c.id}: ${c.details.join('; ')}` });
  }

  blocks.push({ type: 'heading', level: 2, text: 'Table 2: AUC (mean ± std over folds, ×100)' });
  blocks.push(table2Block(table2, 'This run; the best configuration per target is underlined.'));
  if (ref) {
    const refT = buildTable2(ref.auc, { sources: [ref.a, ref.b] });
    blocks.push(table2Block(refT, `Published (${ref.dir}/AUC.csv), aggregated the same way.`));
  }

  blocks.push({ type: 'heading', level: 2, text: 'Figure 3: layer-wise CCA similarity' });
  for (const t of targets) {
    const sums = ccaSummaries(results.cca, t, a, b);
    if (sums.length === 0) continue;
    const plotted = sums.filter((s) => s.pair.figure !== null);
    if (plotted.length) {
      blocks.push(await figure(figure3Spec(plotted, { target: t, a, b }), `fig3_${safeName(t)}`, `Figure 3, ${t}: mean CCA ± SD over folds per layer.`, files));
    }
    const refSums = ref ? ccaSummaries(ref.cca, t, ref.a, ref.b) : [];
    const rows: string[][] = [];
    for (const s of sums) {
      rows.push([pairLabel(s.pair, { a, b }), ...LAYERS.map((l) => f3(s.layers[l]))]);
      const r = refSums.find((x) => x.pair.id === s.pair.id);
      if (r) rows.push([`paper: ${pairLabel(r.pair, { a: ref!.a, b: ref!.b })}`, ...LAYERS.map((l) => f3(r.layers[l]))]);
    }
    blocks.push({ type: 'table', caption: `CCA per layer, ${t} (mean ± SD over folds)`, header: ['comparison', ...LAYERS], rows });
  }

  const kernels = results.filters;
  if (kernels.length) {
    blocks.push({ type: 'heading', level: 2, text: 'Figure 4: conv1 filters of the sources' });
    const grids = [];
    for (const k of kernels) {
      const img = filterGrid(k.kernel);
      const png = await grayToPng(img);
      files.push({ path: `figures/fig4_${safeName(k.source)}_conv1.png`, content: png });
      grids.push({ source: k.source, dataUrl: `data:image/png;base64,${png.toString('base64')}`, width: img.width, height: img.height });
    }
    blocks.push(await figure(figure4Spec(grids), 'fig4_conv1_filters', 'Figure 4: the first 36 conv1 filters of each source (input channel 0).', files));
  }

  if (results.similarity.length) {
    blocks.push({ type: 'heading', level: 2, text: 'Figure 5: prediction similarity' });
    blocks.push(await figure(figure5Spec(results.similarity), 'fig5_similarity', `Figure 5: agreement of ${a}^FT and ${b}^FT errors, observed vs independent errors (no-freeze, over folds).`, files));
    const sims = summarizeSimilarity(results.similarity);
    const refSims = ref ? summarizeSimilarity(ref.similarity) : [];
    blocks.push({
      type: 'table',
      caption: 'Mean over folds',
      header: ['target', 'freeze', 'observed', 'independent', ...(ref ? ['paper observed', 'paper independent'] : [])],
      rows: sims.map((s) => {
        const r = refSims.find((x) => x.target === s.target && x.freeze === s.freeze);
        return [s.target, freezeLabel(s.freeze), f3(s.real), f3(s.rand), ...(ref ? [r ? f3(r.real) : '–', r ? f3(r.rand) : '–'] : [])];
      }),
    });
  }

  if (results.gain.length) {
    blocks.push({ type: 'heading', level: 2, text: 'Figure 6: AUC gain vs CCA similarity' });
    blocks.push(await figure(figure6Spec(results.gain, results.bands, [a, b]), 'fig6_gain_vs_cca', 'Figure 6: relative AUC gain over random init vs the CCA of pretrained and fine-tuned model, OLS line with 95 % bootstrap band.', files));
    blocks.push({
      type: 'table',
      caption: 'OLS fits of gain on CCA',
      header: ['source', 'layer', 'n', 'slope', 'intercept', 'r', ...(ref ? ['paper slope', 'paper r'] : [])],
      rows: results.fits.map((f) => {
        const r = ref?.fits.find((x) => x.layer === f.layer && (f.source === a ? x.source === ref.a : x.source === ref.b));
        return [f.source, f.layer, String(f.n), f.slope.toFixed(3), f.intercept.toFixed(3), Number.isFinite(f.r) ? f.r.toFixed(3) : 'n/a', ...(ref ? [r ? r.slope.toFixed(3) : '–', r && Number.isFinite(r.r) ? r.r.toFixed(3) : '–'] : [])];
      }),
    });
  }

  blocks.push({ type: 'heading', level: 2, text: 'Files' });
  blocks.push({ type: 'list', items: files.map((f) => f.path).filter((p) => p.startsWith('tables/') || p === 'claims.json') });

  files.push({ path: 'report.md', content: toMarkdown(blocks) });
  files.push({ path: 'report.html', content: toHtml(blocks, title) });
  return { files, claims, table2 };
}

/** Build the report and write its files under `outDir`; returns the relative paths written. */
export async function writeReport(outDir: string, results: StudyResults, opts: ReportOptions = {}): Promise<BuiltReport> {
  const built = await buildReport(results, opts);
  for (const f of built.files) {
    const p = join(outDir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
  }
  return built;
}

