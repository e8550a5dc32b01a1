/**
 * Stage `report`: the study report (src/study/report.ts) from the upstream outputs:
 * AUC.csv / gain.csv / fits.csv / bands.csv of correlate-gain, every cca.csv, every
 * similarity.csv, the pretrain sources' conv1 filters for Figure 4, and the preprocess
 * manifests, so the report says which data it ran on (synthetic or the real sets). With `reference:`
 * pointing at the paper's results/ folder, the published numbers appear beside ours.
 * Outputs: report.html, report.md, figures/*.svg|png, tables/*.csv, claims.json.
 */
import { readFileSync } from 'node:fs';
import { defineStage, StageError, type UpstreamInput } from '../src/core/contract.ts';
import { parseAucCsv, parseBandCsv, parseCcaCsv, parseFitCsv, parseGainCsv, parseSimilarityCsv, type CcaRecord, type SimilarityRecord } from '../src/study/records.ts';
import { ROLE_PARAM_SPECS, resolveRoles, type RoleParams } from '../src/study/roles.ts';
import { fileOf, inputHW, inputsOfKind, modelInfoOf, oneInputOfKind, readJsonOf } from '../src/study/stage-io.ts';
import type { ConvKernel } from '../src/study/filter-grid.ts';
import type { DataDescription } from '../src/study/report.ts';

/** Mark the targets that correlate-gain reports as evaluated at another size (finetune evalSize). */
function withEvalSizes(data: DataDescription[], gainIn: UpstreamInput): DataDescription[] {
  if (!gainIn.files['eval-sizes.json']) return data;
  const sizes = readJsonOf<Record<string, { evalSize: [number, number] }>>(gainIn, 'eval-sizes.json');
  return data.map((d) => {
    const e = d.role === 'target' ? sizes[d.name]?.evalSize : undefined;
    return e && (e[0] !== d.size[0] || e[1] !== d.size[1]) ? { ...d, evalSize: e } : d;
  });
}

/** What each upstream preprocess manifest says about its data set (a target, or a source when its instance has a `source` axis). */
function describeData(inputs: readonly UpstreamInput[]): DataDescription[] {
  return inputs.map((i) => {
    const m = readJsonOf<{ dataset: string; adapter: string; count: number; classes: string[]; size: [number, number]; foldSource: string; warnings?: string[] }>(i, 'manifest.json');
    const role = i.axes.source !== undefined && i.axes.dataset === undefined ? 'source' : 'target';
    const name = String(i.axes.dataset ?? i.axes.source ?? m.dataset);
    const d: DataDescription = { name, role, adapter: m.adapter, count: m.count, classes: m.classes, size: m.size, foldSource: m.foldSource };
    if (m.adapter === 'knee') d.kneeLabels = (m.warnings ?? []).some((w) => w.startsWith('knee_labels: study-code')) ? 'study-code' : 'mrnet';
    return d;
  });
}

/** Parameters of `report`. */
export interface ReportParams extends RoleParams {
  title: string;
  reference?: string;
  referenceNames: Record<string, string>;
  filters: boolean;
}

export default defineStage<ReportParams>({
  kind: 'report',
  doc: "The study report: Table 2, Figures 3-6 (vega-lite SVG + PNG), the paper's claims evaluated on this run's numbers, every table as CSV in the paper repository's layout; optionally beside the published numbers (reference:).",
  version: '1',
  params: {
    ...ROLE_PARAM_SPECS,
    title: { type: 'string', doc: 'Report title', default: 'Revisiting hidden representations in transfer learning: study report' },
    reference: { type: 'path', doc: "Folder with the paper's published AUC.csv, CCA_<t>.csv and similarity.csv, shown beside ours", mustExist: 'dir' },
    referenceNames: { type: 'object', doc: 'Display names of the natural and medical sources in the reference CSVs', additional: true, default: { natural: 'ImageNet', medical: 'RadImageNet' } },
    filters: { type: 'boolean', doc: "Figure 4: draw the pretrain sources' conv1 filters (loads each weights.h5)", default: true },
  },
  resources: { cpu: 1 },
  codeDeps: ['src/study', 'src/stats', 'src/ml/filters.ts', 'src/ml/resnet.ts', 'src/ml/keras-h5.ts', 'src/wasm'],
  async run(ctx) {
    const p = ctx.params;
    const roles = resolveRoles(p);
    const read = (input: UpstreamInput, rel: string) => readFileSync(fileOf(input, rel), 'utf8');
    const gainIn = oneInputOfKind(ctx.inputs, 'correlate-gain', ctx.id);
    const cca: CcaRecord[] = [];
    for (const i of inputsOfKind(ctx.inputs, 'cca')) cca.push(...parseCcaCsv(read(i, 'cca.csv'), `${i.id}/cca.csv`));
    const similarity: SimilarityRecord[] = [];
    for (const i of inputsOfKind(ctx.inputs, 'predsim')) similarity.push(...parseSimilarityCsv(read(i, 'similarity.csv'), `${i.id}/similarity.csv`));

    const filters: Array<{ source: string; kernel: ConvKernel }> = [];
    const sources = inputsOfKind(ctx.inputs, 'pretrain');
    if (p.filters && sources.length > 0) {
      const { loadTf } = await import('../src/ml/backend.ts');
      const { buildResNet } = await import('../src/ml/resnet.ts');
      const { loadKerasWeights } = await import('../src/ml/keras-h5.ts');
      const { conv1Filters } = await import('../src/ml/filters.ts');
      const { tf } = await loadTf();
      for (const s of sources) {
        const info = modelInfoOf(s);
        if (!info) throw new StageError('STUDY_BAD_OUTPUT', `${s.id} has no model.json`);
        const [h, w] = inputHW(info);
        const model = buildResNet(tf, { variant: info.variant, inputShape: [Math.max(32, h), Math.max(32, w), 3], seed: 0 });
        await loadKerasWeights(model, fileOf(s, 'weights.h5'), { allowExtra: true, tf });
        const role = roles.roleOf(info.study.source);
        const name = role ? (role === 'A' ? roles.a : roles.b) : roles.display(info.study.source ?? s.id);
        filters.push({ source: name, kernel: conv1Filters(model) });
        model.dispose();
      }
      filters.sort((x, y) => (x.source === roles.a ? 0 : 1) - (y.source === roles.a ? 0 : 1));
    }

    const { writeReport } = await import('../src/study/report.ts');
    let reference;
    if (p.reference !== undefined) {
      const { readReferenceRecords, referenceResults } = await import('../src/study/reference.ts');
      const { olsFit, bootstrapCorrelation, deriveSeed } = await import('../src/stats/index.ts');
      const names = { a: p.referenceNames.natural ?? 'ImageNet', b: p.referenceNames.medical ?? 'RadImageNet' };
      reference = referenceResults(readReferenceRecords(p.reference), names, (x, y) => {
        const ci = bootstrapCorrelation(x, y, { seed: deriveSeed(ctx.seed, 'reference-r', x.length, x[0] ?? 0) });
        return { ...olsFit(x, y), rLo: ci.lo, rHi: ci.hi };
      });
    }
    const built = await writeReport(
      ctx.outDir,
      {
        a: roles.a,
        b: roles.b,
        auc: parseAucCsv(read(gainIn, 'AUC.csv'), `${gainIn.id}/AUC.csv`),
        cca,
        similarity,
        gain: parseGainCsv(read(gainIn, 'gain.csv'), `${gainIn.id}/gain.csv`),
        fits: parseFitCsv(read(gainIn, 'fits.csv'), `${gainIn.id}/fits.csv`),
        bands: parseBandCsv(read(gainIn, 'bands.csv'), `${gainIn.id}/bands.csv`),
        filters,
        data: withEvalSizes(describeData(inputsOfKind(ctx.inputs, 'preprocess')), gainIn),
      },
      { title: p.title, ...(reference ? { reference } : {}), notes: [`seed: ${ctx.seed}`, `sources: ${p.natural} (${roles.a}), ${p.medical} (${roles.b})`] },
    );
    for (const c of built.claims) ctx.log(`${c.id}: ${c.verdict} ${c.holds}/${c.of}`);
  },
});
