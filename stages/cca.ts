/**
 * Stage `cca`: layer-wise CCA similarity of model pairs on one (target, fold), protocol.md §4:
 * per layer, `repeats` draws of round(targetPoints / (h w)) stimulus images and `channels`
 * channels (the same for both models), svcca's CCA with epsilon 1e-12, the mean of all
 * canonical correlations, averaged over draws. Inputs are the extract instances of the
 * fold; each one's meta.json says which model it is. Output: cca.csv in the layout of the
 * paper's CCA_<t>.csv (model names like `knee-ImageNet-freezeFalse`), repeats.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineStage, StageError, type UpstreamInput } from '../src/core/contract.ts';
import { LAYERS, type Layer } from '../src/study/names.ts';
import { pairModelNames, pairsOf, type ModelRef, type PairSet } from '../src/study/pairs.ts';
import { formatCcaCsv, type CcaRecord } from '../src/study/records.ts';
import { ROLE_PARAM_SPECS, resolveRoles, type RoleParams, type Roles } from '../src/study/roles.ts';
import { fileOf, inputsOfKind, readJsonOf } from '../src/study/stage-io.ts';
import type { ExtractMeta } from './extract.ts';

/** Parameters of `cca`. */
export interface CcaParams extends RoleParams {
  pairs: PairSet;
  targetPoints: number;
  channels: number;
  repeats: number;
  epsilon: number;
}

interface Model {
  input: UpstreamInput;
  meta: ExtractMeta;
}

function refKey(ref: ModelRef): string {
  switch (ref.type) {
    case 'finetuned':
      return `ft:${ref.role}:${ref.freeze}`;
    case 'pretrained':
      return `pre:${ref.role}`;
    case 'random':
      return `random:${ref.index}`;
    default: {
      const never: never = ref;
      throw new Error(`unknown ref ${JSON.stringify(never)}`);
    }
  }
}

/** Index the extract inputs by the model reference they are. */
function indexModels(inputs: readonly UpstreamInput[], roles: Roles, who: string): Map<string, Model> {
  const out = new Map<string, Model>();
  const randoms: Model[] = [];
  for (const input of inputs) {
    const meta = readJsonOf<ExtractMeta>(input, 'meta.json');
    const s = meta.study;
    let key: string | undefined;
    if (s.role === 'random') randoms.push({ input, meta });
    else {
      const role = roles.roleOf(s.source);
      if (!role) continue; // a source outside the two roles (e.g. a third source) takes part in no pair
      key = s.role === 'finetuned' ? `ft:${role}:${s.freeze === true}` : `pre:${role}`;
      const prev = out.get(key);
      if (prev) throw new StageError('CCA_DUPLICATE_MODEL', `${who}: ${prev.input.id} and ${input.id} are the same model (${key}); check the needs: of cca`);
      out.set(key, { input, meta });
    }
  }
  randoms.sort((x, y) => (x.meta.study.randomSeed ?? 0) - (y.meta.study.randomSeed ?? 0));
  randoms.forEach((m, k) => out.set(`random:${k}`, m));
  return out;
}

function checkSameStimuli(models: readonly Model[], who: string): void {
  const first = models[0];
  if (!first) return;
  if (!first.meta.stimuli?.layers) {
    throw new StageError('CCA_OLD_EXTRACT', `${who}: ${first.input.id} has no stimulus draws in meta.json (written by an older extract stage); re-run it`);
  }
  const images = (m: Model) => JSON.stringify(LAYERS.map((l) => m.meta.stimuli.layers?.[l]?.rows ?? null));
  const sig = images(first);
  for (const m of models.slice(1)) {
    if (images(m) !== sig) {
      throw new StageError(
        'CCA_STIMULI_MISMATCH',
        `${who}: ${m.input.id} and ${first.input.id} drew different stimulus images; give every extract stage the same seed, draws and points`,
      );
    }
  }
}

/** Repeats and points the stored draws cannot serve are errors naming both stages' params. */
function checkDraws(meta: ExtractMeta, p: CcaParams, who: string): void {
  const s = meta.stimuli;
  if (p.repeats > s.draws) {
    throw new StageError('CCA_TOO_FEW_DRAWS', `${who}: repeats is ${p.repeats} but the extract stages stored ${s.draws} draws per layer; raise extract's draws or lower repeats`);
  }
  if (p.targetPoints > s.points) {
    throw new StageError('CCA_DRAWS_TOO_SMALL', `${who}: targetPoints is ${p.targetPoints} but the extract stages drew ${s.points} points per draw; raise extract's points to at least ${p.targetPoints}`);
  }
}

export default defineStage<CcaParams>({
  kind: 'cca',
  doc: "Layer-wise CCA similarity (svcca, mean of all canonical correlations) of the protocol's model pairs on one target and fold; writes cca.csv in the paper's CCA_<t>.csv layout and repeats.json.",
  version: '1',
  params: {
    ...ROLE_PARAM_SPECS,
    pairs: { type: 'string', doc: 'figure3: the five comparisons plotted in Figure 3; all: all 14 of the paper CSVs (needs freeze=true models too)', default: 'figure3', enum: ['figure3', 'all'] },
    targetPoints: { type: 'number', doc: "Data points per repeat: round(targetPoints / (h w)) of a draw's images (paper: 10000; at most extract's points)", default: 10000, integer: true, min: 1 },
    channels: { type: 'number', doc: "Channels per repeat, of those the extract draw kept (paper: 64)", default: 64, integer: true, min: 1 },
    repeats: { type: 'number', doc: "Repeats averaged per layer, repeat r on extract's draw r (paper: 5; at most extract's draws)", default: 5, integer: true, min: 1 },
    epsilon: { type: 'number', doc: "svcca's epsilon (the study: 1e-12)", default: 1e-12, min: 0 },
  },
  resources: { cpu: 1 },
  codeDeps: ['src/stats', 'src/study', 'src/data/npy.ts', 'src/wasm'],
  async run(ctx) {
    const p = ctx.params;
    const roles = resolveRoles(p);
    const extracts = inputsOfKind(ctx.inputs, 'extract');
    const models = indexModels(extracts, roles, ctx.id);
    checkSameStimuli([...models.values()], ctx.id);
    const anyMeta = [...models.values()][0]?.meta;
    if (!anyMeta) throw new StageError('CCA_NO_MODELS', `${ctx.id} has no extract inputs for '${p.natural}' / '${p.medical}' or random inits; check needs: and the natural/medical params`);
    const target = anyMeta.study.target ?? String(ctx.axes.dataset ?? 'target');
    const fold = anyMeta.study.fold ?? Number(ctx.axes.fold ?? 1);
    const { readNpy } = await import('../src/data/npy.ts');
    const { layerCcaOfDraws, deriveSeed, isStatsError } = await import('../src/stats/index.ts');
    checkDraws(anyMeta, p, ctx.id);
    const cache = new Map<string, { data: Float32Array; shape: number[] }>();
    const acts = (m: Model, layer: Layer) => {
      const k = `${m.input.id}/${layer}`;
      let a = cache.get(k);
      if (!a) {
        const arr = readNpy(fileOf(m.input, `acts/${layer}.npy`));
        if (arr.dtype !== '<f4' || arr.shape.length !== 5) {
          throw new StageError('CCA_BAD_ACTS', `${m.input.id}: acts/${layer}.npy must be float32 [draws, images, h, w, channels], found ${arr.dtype} [${arr.shape.join(', ')}]`);
        }
        a = { data: arr.data as Float32Array, shape: arr.shape };
        cache.set(k, a);
      }
      return a;
    };
    const rows: CcaRecord[] = [];
    const repeats: Array<{ model1: string; model2: string; layers: Record<string, number[]> }> = [];
    const pairs = pairsOf(p.pairs);
    let k = 0;
    for (const pair of pairs) {
      const left = models.get(refKey(pair.left));
      const right = models.get(refKey(pair.right));
      if (!left || !right) {
        ctx.warn(`skipping ${pair.id}: no extract input for ${!left ? refKey(pair.left) : refKey(pair.right)}`);
        continue;
      }
      const [model1, model2] = pairModelNames(pair, { target, a: roles.a, b: roles.b });
      const values = {} as Record<Layer, number>;
      const reps: Record<string, number[]> = {};
      for (const layer of LAYERS) {
        let r;
        try {
          r = layerCcaOfDraws(acts(left, layer), acts(right, layer), {
            targetPoints: p.targetPoints,
            channels: p.channels,
            repeats: p.repeats,
            epsilon: p.epsilon,
            seed: deriveSeed(ctx.seed, 'cca', target, fold, pair.id, layer),
          });
        } catch (e) {
          if (!isStatsError(e)) throw e;
          throw new StageError(e.code, `${ctx.id}: ${pair.id} (${left.input.id} vs ${right.input.id}), layer ${layer}: ${e.message}`);
        }
        values[layer] = r.mean;
        reps[layer] = [...r.repeats];
        ctx.progress({ done: ++k, total: pairs.length * LAYERS.length, unit: 'layer', message: `${pair.id} ${layer}` });
      }
      rows.push({ model1, model2, fold, stimuli: target, values });
      repeats.push({ model1, model2, layers: reps });
    }
    if (rows.length === 0) throw new StageError('CCA_NO_PAIRS', `${ctx.id}: none of the ${p.pairs} comparisons has both models among the inputs`);
    writeFileSync(join(ctx.outDir, 'cca.csv'), formatCcaCsv(rows));
    const settings = { targetPoints: p.targetPoints, channels: p.channels, repeats: p.repeats, epsilon: p.epsilon, seed: ctx.seed };
    writeFileSync(join(ctx.outDir, 'repeats.json'), JSON.stringify({ target, fold, settings, pairs: repeats }, null, 2) + '\n');
  },
});
