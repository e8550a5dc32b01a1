/**
 * Stage `correlate-gain`: Figure 6's data (protocol.md §6). Collects every fine-tuning run's
 * AUC (AUC.csv, the paper's layout), joins the no-freeze runs with the random-init run of the
 * same target and fold into the relative gain (AUC_FT - AUC_random) / AUC_random, pairs it
 * with the CCA between the pretrained source and its fine-tuned model per layer (gain.csv,
 * the simVSauc layout plus the AUCs), and fits gain on CCA by OLS with a seeded bootstrap
 * 95 % band per source and layer (fits.csv, bands.csv), the evaluation sizes of targets
 * evaluated at another size than trained (eval-sizes.json), and a bootstrap interval of
 * Pearson's r (fits.csv r_lo, r_hi): the claim's effect size, not only the slope's sign.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineStage, StageError } from '../src/core/contract.ts';
import { joinGain } from '../src/study/gain.ts';
import { LAYERS } from '../src/study/names.ts';
import { formatAucCsv, formatBandCsv, formatFitCsv, formatGainCsv, parseCcaCsv, type AucRecord, type BandRecord, type CcaRecord, type FitRecord } from '../src/study/records.ts';
import { ROLE_PARAM_SPECS, resolveRoles, type RoleParams } from '../src/study/roles.ts';
import { fileOf, inputsOfKind, modelInfoOf, readJsonOf } from '../src/study/stage-io.ts';

/** Parameters of `correlate-gain`. */
export interface CorrelateGainParams extends RoleParams {
  resamples: number;
  grid: number;
  level: number;
}

export default defineStage<CorrelateGainParams>({
  kind: 'correlate-gain',
  doc: 'AUC.csv of all fine-tuning runs, relative AUC gain over random init vs pretrained-to-fine-tuned CCA per layer (gain.csv), OLS fits with bootstrap bands per source and layer (fits.csv, bands.csv).',
  version: '1',
  params: {
    ...ROLE_PARAM_SPECS,
    resamples: { type: 'number', doc: 'Bootstrap resamples of the regression band (seaborn: 1000)', default: 1000, integer: true, min: 2 },
    grid: { type: 'number', doc: 'Grid points of the band over [min x, max x] (seaborn: 100)', default: 100, integer: true, min: 2 },
    level: { type: 'number', doc: 'Confidence level of the band and of the r interval', default: 0.95, min: 0.5, max: 0.999 },
  },
  resources: { cpu: 1 },
  codeDeps: ['src/stats', 'src/study', 'src/wasm'],
  async run(ctx) {
    const p = ctx.params;
    const roles = resolveRoles(p);
    const { olsFit, bootstrapBand, bootstrapCorrelation, deriveSeed } = await import('../src/stats/index.ts');
    const auc: AucRecord[] = [];
    const evalSizes: Record<string, { trainSize: [number, number] | null; evalSize: [number, number] }> = {};
    for (const input of inputsOfKind(ctx.inputs, 'finetune')) {
      const info = modelInfoOf(input);
      if (!info) throw new StageError('STUDY_BAD_OUTPUT', `${input.id} has no model.json; re-run it with this version of dag`);
      const m = readJsonOf<{ auc: number | null; evalSize?: [number, number]; trainSize?: [number, number] }>(input, 'metrics.json');
      if (m.evalSize && info.study.target) evalSizes[info.study.target] = { trainSize: m.trainSize ?? null, evalSize: m.evalSize };
      const s = info.study;
      if (m.auc === null || !Number.isFinite(m.auc)) {
        ctx.warn(`${input.id}: AUC is undefined (one class only in the held-out fold?); left out of AUC.csv`);
        continue;
      }
      const source = s.init === 'random' ? 'random' : roles.display(s.source ?? '?');
      auc.push({ target: s.target ?? '?', source, freeze: s.freeze === true, fold: s.fold ?? 0, auc: m.auc });
    }
    const cca: CcaRecord[] = [];
    for (const input of inputsOfKind(ctx.inputs, 'cca')) {
      const file = fileOf(input, 'cca.csv');
      cca.push(...parseCcaCsv(readFileSync(file, 'utf8'), `${input.id}/cca.csv`));
    }
    if (auc.length === 0) throw new StageError('GAIN_NO_RUNS', `${ctx.id} has no fine-tuning runs with an AUC among its inputs`);
    const targets = [...new Set(auc.map((r) => r.target))];
    const order = (r: AucRecord) => [targets.indexOf(r.target), r.fold, r.source === 'random' ? 2 : r.source === roles.a ? 0 : 1, Number(r.freeze)];
    auc.sort((x, y) => {
      const a = order(x);
      const b = order(y);
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return 0;
    });
    const gain = joinGain(cca, auc, { sources: [roles.a, roles.b], skipMissing: true });
    const fits: FitRecord[] = [];
    const bands: BandRecord[] = [];
    for (const source of [roles.a, roles.b]) {
      const pts = gain.filter((g) => g.source === source);
      for (const layer of LAYERS) {
        const x = pts.map((g) => g.values[layer]);
        const y = pts.map((g) => g.gain);
        try {
          const f = olsFit(x, y);
          const ci = bootstrapCorrelation(x, y, { resamples: p.resamples, level: p.level, seed: deriveSeed(ctx.seed, 'gain-r', source, layer) });
          fits.push({ source, layer, n: f.n, slope: f.slope, intercept: f.intercept, r: f.r, rLo: ci.lo, rHi: ci.hi });
          const b = bootstrapBand(x, y, { resamples: p.resamples, grid: p.grid, level: p.level, seed: deriveSeed(ctx.seed, 'gain-band', source, layer) });
          b.grid.forEach((gx, i) => bands.push({ source, layer, x: gx, fit: b.fit[i]!, lo: b.lower[i]!, hi: b.upper[i]! }));
        } catch (e) {
          ctx.warn(`no fit for ${source} ${layer} (${pts.length} points): ${(e as Error).message}`);
        }
      }
    }
    writeFileSync(join(ctx.outDir, 'AUC.csv'), formatAucCsv(auc));
    writeFileSync(join(ctx.outDir, 'gain.csv'), formatGainCsv(gain));
    writeFileSync(join(ctx.outDir, 'fits.csv'), formatFitCsv(fits));
    writeFileSync(join(ctx.outDir, 'bands.csv'), formatBandCsv(bands));
    // Targets whose held-out fold was evaluated at another size than trained (finetune evalSize), for the report.
    writeFileSync(join(ctx.outDir, 'eval-sizes.json'), JSON.stringify(evalSizes, null, 2) + '\n');
  },
});
