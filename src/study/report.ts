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
import { evaluateClaims, rText, type ClaimResult } from './claims.ts';
import { toHtml, toMarkdown, type Block, type Cell } from './document.ts';
import { filterGrid, grayToPng, type ConvKernel } from './filter-grid.ts';
import { LAYERS, freezeLabel, freezeText, simVsAucStem } from './names.ts';
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
  /** What the run's data sets are (from the preprocess manifests); absent when unknown. */
  data?: readonly DataDescription[];
}

/** One data set of the run, as its preprocess manifest describes it. */
export interface DataDescription {
  /** The data set's name in the pipeline (`knee`, `xray`). */
  name: string;
  /** A fine-tuning target, or a source the pipeline pre-trains on. */
  role: 'target' | 'source';
  /** The preprocess adapter (`synthetic`, `knee`, `folder`, ...). */
  adapter: string;
  count: number;
  classes: readonly string[];
  /** Stored image size [h, w]. */
  size: readonly [number, number];
  /** Where the folds came from: the paper's split files, or computed. */
  foldSource: string;
  /** knee only: which validation meniscus labels (`mrnet` or `study-code`). */
  kneeLabels?: 'mrnet' | 'study-code';
  /** Held-out evaluation size [h, w] of the fine-tuned models when it differs from `size`. */
  evalSize?: readonly [number, number];
}

/** True when a data set was generated rather than read from a download. */
export function isSynthetic(d: DataDescription): boolean {
  return d.adapter === 'synthetic';
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

const px = (s: readonly [number, number]): string => (s[0] === s[1] ? `${s[0]} px` : `${s[0]}×${s[1]} px`);

function describeData(d: DataDescription): string {
  const folds = d.foldSource === 'splits' ? "folds from the paper's split files" : d.foldSource === 'group-kfold' ? 'folds computed (GroupKFold on patients)' : 'folds computed (stratified)';
  const extra = [
    d.kneeLabels ? `knee labels: ${d.kneeLabels === 'study-code' ? "the study code's (as the paper)" : 'MRNet (correct; not the paper\'s counts)'}` : '',
    d.evalSize ? `evaluated at ${px(d.evalSize)}` : '',
  ].filter(Boolean);
  return `${d.name}: ${d.count.toLocaleString('en-US')} images, ${d.classes.length} classes, ${px(d.size)}, ${isSynthetic(d) ? 'synthetic (generated)' : `adapter ${d.adapter}`}, ${folds}${extra.length ? `, ${extra.join(', ')}` : ''}`;
}

/** The title block's statement of what data the run used. */
function dataNote(data: readonly DataDescription[] | undefined, a: string, b: string): Block {
  if (!data || data.length === 0) {
    return { type: 'note', title: 'Data: not recorded', items: ['The report stage had no preprocess upstream, so it cannot say which data this run used; add the preprocess stage(s) to its needs.'] };
  }
  const targets = data.filter((d) => d.role === 'target');
  const sources = data.filter((d) => d.role === 'source');
  const synthetic = data.some(isSynthetic);
  const items = [
    `Targets: ${targets.map(describeData).join('; ')}.`,
    ...(sources.length ? [`Sources pre-trained in this pipeline (in the roles of ImageNet and RadImageNet): ${sources.map(describeData).join('; ')}.`] : []),
  ];
  if (synthetic) {
    items.unshift(
      `This run used SYNTHETIC data generated by the pipeline, not the paper's medical data sets, and ${a} / ${b} are not ImageNet / RadImageNet. Its numbers exercise every step of the study; they say nothing about the paper's findings, and every comparison with the paper's published numbers below is a check of the code paths, not a replication.`,
    );
  }
  return { type: 'note', title: synthetic ? 'Data: synthetic' : `Data: ${targets.map((t) => t.name).join(', ')}`, items };
}

/** The caveats of putting this run beside the paper's published numbers. */
function comparisonCaveats(data: readonly DataDescription[] | undefined): string[] {
  const out: string[] = [];
  const targets = (data ?? []).filter((d) => d.role === 'target');
  if (targets.some(isSynthetic)) out.push("Synthetic data: the published counts are for the paper's seven medical data sets, this run's for synthetic stand-ins.");
  else if (targets.length > 0 && targets.length !== 7) out.push(`This run has ${targets.length} target(s); the published counts are over the paper's 7.`);
  const at112 = targets.filter((t) => (t.name === 'thyroid' || t.name === 'mammograms') && !(t.evalSize && t.evalSize[0] === 112));
  if (at112.length || targets.length === 0 || targets.some(isSynthetic)) {
    out.push(
      `The published AUCs and prediction similarities of thyroid and mammograms were computed at 112 px on models trained at 224 px (protocol divergence 4)${at112.length ? `; this run evaluated ${at112.map((t) => t.name).join(' and ')} at ${at112.map((t) => px(t.evalSize ?? t.size)).join(' / ')} (finetune evalSize: 112 reproduces the published setting)` : ''}.`,
    );
  }
  const knee = targets.find((t) => t.adapter === 'knee');
  if (knee && knee.kneeLabels !== 'study-code') out.push("Knee: this run uses MRNet's correct validation meniscus labels; the published numbers used the study code's (valid-abnormal.csv), so Table 1's knee counts and the published knee numbers differ (preprocess knee_labels: study-code reproduces them).");
  else if (!knee && !targets.some(isSynthetic) && targets.length === 0) out.push("Knee: the published numbers used the study code's validation meniscus labels (knee_labels: study-code).");
  return out;
}

const PUBLISHED = "paper's published CSVs";

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
  blocks.push(dataNote(results.data, a, b));
  blocks.push({
    type: 'paragraph',
    text: `${targets.length} target(s) (${targets.join(', ')}), sources ${a} and ${b} plus random init, ${folds} fold(s). ${a} plays ImageNet's role and ${b} RadImageNet's in the comparisons below.`,
  });
  if (opts.notes?.length) blocks.push({ type: 'list', items: [...opts.notes] });

  blocks.push({ type: 'heading', level: 2, text: "The paper's claims, checked on this run" });
  const caveats = comparisonCaveats(results.data);
  blocks.push({
    type: 'paragraph',
    text: `Each claim is counted over targets (or panels, or layers); "${PUBLISHED}" is the same count on the numbers the paper published (its results/ folder, seven medical data sets), shown for comparison, not produced by this run.`,
  });
  if (caveats.length) blocks.push({ type: 'note', title: 'Comparing with the published numbers', items: caveats });
  blocks.push({
    type: 'table',
    header: ['claim', 'this run', 'where it does not hold; effect size', PUBLISHED, ...(refClaims ? [`reference folder (${ref!.dir})`] : [])],
    left: [0, 1, 2, 3, 4],
    rows: claims.map((c, k) => [
      c.statement,
      c.verdict === 'n/a' ? 'not evaluated (no numbers)' : `${c.verdict}: ${c.holds}/${c.of} ${c.unit}`,
      [c.failing.join('; '), c.effect].filter(Boolean).join('. ') || (c.verdict === 'n/a' ? '' : '–'),
      c.paper,
      ...(refClaims ? [`${refClaims[k]!.verdict}: ${refClaims[k]!.holds}/${refClaims[k]!.of}`] : []),
    ]),
  });

  blocks.push({ type: 'heading', level: 2, text: 'Table 2: AUC (mean ± std over folds, ×100)' });
  blocks.push(table2Block(table2, 'This run; the best configuration per target is underlined.'));
  if (ref) {
    const refT = buildTable2(ref.auc, { sources: [ref.a, ref.b] });
    blocks.push(table2Block(refT, `The paper's published AUCs (${ref.dir}/AUC.csv, not this run), aggregated the same way.`));
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
      if (r) rows.push([`published: ${pairLabel(r.pair, { a: ref!.a, b: ref!.b })}`, ...LAYERS.map((l) => f3(r.layers[l]))]);
    }
    blocks.push({ type: 'table', caption: `CCA per layer, ${t} (mean ± SD over folds${refSums.length ? "; 'published' rows are the paper's numbers" : ''})`, header: ['comparison', ...LAYERS], rows });
  }

  const kernels = results.filters;
  if (kernels.length) {
    blocks.push({ type: 'heading', level: 2, text: 'Figure 4: conv1 filters of the sources' });
    const grids = [];
    for (const k of kernels) {
      const img = filterGrid(k.kernel);
      const png = await grayToPng(img);
      files.push({ path: `figures/fig4_${safeName(k.source)}_conv1.png`, content: png });
      const total = k.kernel.shape[3];
      grids.push({ source: k.source, dataUrl: `data:image/png;base64,${png.toString('base64')}`, width: img.width, height: img.height, shown: Math.min(36, total), total });
    }
    const spec = figure4Spec(grids);
    blocks.push(await figure(spec, 'fig4_conv1_filters', `Figure 4: ${String(spec.title).replace(/^(All|First)/, (w) => w.toLowerCase())} of each source.`, files));
  }

  if (results.similarity.length) {
    blocks.push({ type: 'heading', level: 2, text: 'Figure 5: prediction similarity' });
    blocks.push(await figure(figure5Spec(results.similarity), 'fig5_similarity', `Figure 5: agreement of ${a}^FT and ${b}^FT errors, observed vs independent errors (no-freeze, over folds).`, files));
    const sims = summarizeSimilarity(results.similarity);
    const refSims = ref ? summarizeSimilarity(ref.similarity) : [];
    blocks.push({
      type: 'table',
      caption: 'Mean over folds',
      left: [0, 1],
      header: ['target', 'freezing', 'observed', 'independent', ...(ref ? ['published observed', 'published independent'] : [])],
      rows: sims.map((s) => {
        const r = refSims.find((x) => x.target === s.target && x.freeze === s.freeze);
        return [s.target, freezeText(s.freeze), f3(s.real), f3(s.rand), ...(ref ? [r ? f3(r.real) : '–', r ? f3(r.rand) : '–'] : [])];
      }),
    });
  }

  if (results.gain.length) {
    blocks.push({ type: 'heading', level: 2, text: 'Figure 6: AUC gain vs CCA similarity' });
    blocks.push(await figure(figure6Spec(results.gain, results.bands, [a, b]), 'fig6_gain_vs_cca', 'Figure 6: relative AUC gain over random init vs the CCA of pretrained and fine-tuned model, OLS line with 95 % bootstrap band (clipped to each row\'s y range).', files));
    blocks.push({
      type: 'table',
      caption: 'OLS fits of gain on CCA; r with its 95 % bootstrap interval',
      header: ['source', 'layer', 'n', 'slope', 'intercept', 'r [95 % interval]', ...(ref ? ['published slope', 'published r'] : [])],
      left: [0, 1],
      rows: results.fits.map((f) => {
        const r = ref?.fits.find((x) => x.layer === f.layer && (f.source === a ? x.source === ref.a : x.source === ref.b));
        return [f.source, f.layer, String(f.n), f.slope.toFixed(3), f.intercept.toFixed(3), rText(f).replace(/^r /, ''), ...(ref ? [r ? r.slope.toFixed(3) : '–', r ? rText(r).replace(/^r /, '') : '–'] : [])];
      }),
    });
  }

  blocks.push({ type: 'heading', level: 2, text: 'Files' });
  blocks.push({
    type: 'paragraph',
    text: "Every table as CSV in the paper repository's layout, and every figure as SVG and PNG, relative to this report's folder (dag export writes the folder out whole).",
  });
  blocks.push({ type: 'links', items: files.map((f) => f.path).filter((p) => p.startsWith('tables/') || p.startsWith('figures/') || p === 'claims.json').map((p) => ({ href: p, text: p })) });

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

