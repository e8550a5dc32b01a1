/**
 * Stage `predsim`: prediction similarity of the two sources' fine-tuned models on one
 * target (protocol.md §5): for each freeze setting and fold, the fraction of held-out images
 * where both models' errors agree ("real") and the independent-errors baseline ("rand";
 * `baseline: paper` = a1 a2 + (1 - a1)(1 - a2), `code` = the reference code's a1^2 + (1 - a1)^2).
 * Output: similarity.csv in the layout of the paper's similarity.csv, similarity.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineStage, StageError, type UpstreamInput } from '../src/core/contract.ts';
import { formatSimilarityCsv, type SimilarityRecord } from '../src/study/records.ts';
import { ROLE_PARAM_SPECS, resolveRoles, type RoleParams } from '../src/study/roles.ts';
import { fileOf, inputsOfKind, modelInfoOf, type ModelInfo } from '../src/study/stage-io.ts';

/** Parameters of `predsim`. */
export interface PredsimParams extends RoleParams {
  baseline: 'paper' | 'code';
}

export default defineStage<PredsimParams>({
  kind: 'predsim',
  doc: "Prediction similarity of the natural- and medical-source fine-tuned models per freeze setting and fold (observed error agreement vs the independent-errors baseline); writes similarity.csv in the paper's layout.",
  version: '1',
  params: {
    ...ROLE_PARAM_SPECS,
    baseline: { type: 'string', doc: "Independent-errors baseline: paper = a1 a2 + (1-a1)(1-a2); code = a1^2 + (1-a1)^2 (what produced the paper's published 'rand' values)", default: 'paper', enum: ['paper', 'code'] },
  },
  resources: { cpu: 1 },
  codeDeps: ['src/stats', 'src/study', 'src/data/npy.ts', 'src/wasm'],
  async run(ctx) {
    const p = ctx.params;
    const roles = resolveRoles(p);
    const { readNpy } = await import('../src/data/npy.ts');
    const { predictionSimilarity } = await import('../src/stats/index.ts');
    const runs = new Map<string, { input: UpstreamInput; info: ModelInfo }>();
    for (const input of inputsOfKind(ctx.inputs, 'finetune')) {
      const info = modelInfoOf(input);
      if (!info || info.study.init === 'random') continue;
      const role = roles.roleOf(info.study.source);
      if (!role) continue;
      runs.set(`${info.study.target}|${role}|${info.study.freeze}|${info.study.fold}`, { input, info });
    }
    const records: SimilarityRecord[] = [];
    const details: unknown[] = [];
    const keys = [...runs.keys()].filter((k) => k.split('|')[1] === 'A').sort();
    for (const key of keys) {
      const a = runs.get(key)!;
      const b = runs.get(key.replace('|A|', '|B|'));
      if (!b) {
        ctx.warn(`no ${p.medical} run matches ${a.input.id}; skipped`);
        continue;
      }
      const la = readNpy(fileOf(a.input, 'labels.npy'));
      const lb = readNpy(fileOf(b.input, 'labels.npy'));
      if (la.data.length !== lb.data.length || la.data.some((v, i) => v !== lb.data[i])) {
        throw new StageError('PREDSIM_LABELS_DIFFER', `${a.input.id} and ${b.input.id} were evaluated on different held-out labels (${la.data.length} vs ${lb.data.length} images)`);
      }
      const pa = readNpy(fileOf(a.input, 'predictions.npy'));
      const pb = readNpy(fileOf(b.input, 'predictions.npy'));
      const r = predictionSimilarity(la.data as Int32Array, { data: pa.data as Float32Array, shape: pa.shape }, { data: pb.data as Float32Array, shape: pb.shape }, { baseline: p.baseline });
      const s = a.info.study;
      const base = { target: s.target ?? String(ctx.axes.dataset ?? ''), model1: roles.a, model2: roles.b, freeze: s.freeze === true, fold: s.fold ?? 0 };
      records.push({ ...base, prob: 'real', value: r.observed }, { ...base, prob: 'rand', value: r.independent });
      details.push({ ...base, a: a.input.id, b: b.input.id, accuracyA: r.accuracyA, accuracyB: r.accuracyB, n: r.n, baseline: r.baseline });
    }
    if (records.length === 0) {
      throw new StageError('PREDSIM_NO_PAIRS', `${ctx.id}: no pair of '${p.natural}' and '${p.medical}' fine-tuned runs among the inputs; check needs: and natural/medical`);
    }
    records.sort((x, y) => Number(x.freeze) - Number(y.freeze) || x.fold - y.fold);
    writeFileSync(join(ctx.outDir, 'similarity.csv'), formatSimilarityCsv(records));
    writeFileSync(join(ctx.outDir, 'similarity.json'), JSON.stringify({ baseline: p.baseline, pairs: details }, null, 2) + '\n');
  },
});
