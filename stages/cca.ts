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
  const sig = JSON.stringify([first.meta.stimuli.rows, first.meta.stimuli.perLayer]);
  for (const m of models.slice(1)) {
    if (JSON.stringify([m.meta.stimuli.rows, m.meta.stimuli.perLayer]) !== sig) {
      throw new StageError(
        'CCA_STIMULI_MISMATCH',
        `${who}: ${m.input.id} and ${first.input.id} extracted different stimulus images; give every extract stage the same seed and maxPoints`,
      );
    }
  }
}

/**
 * CCA needs more data points than channels. A draw at a layer of h x w positions takes
 * min(n, round(targetPoints / (h w))) of the n stimulus images the extract stage kept (at
 * most the held-out fold), so a small data set starves the last block: say so in numbers.
 */
function checkEnoughPoints(id: string, layer: Layer, shape: readonly number[], p: CcaParams, round: (x: number) => number): void {
  const [n = 0, h = 1, w = 1, c = 0] = shape;
  const hw = h * w;
  const images = Math.min(n, round(p.targetPoints / hw));
  const points = images * hw;
  const k = Math.min(c, p.channels);
  if (k < points) return;
  const need = Math.floor(k / hw) + 1;
  throw new StageError(
    'CCA_TOO_FEW_POINTS',
    `${id}: at ${layer} (${h} x ${w} positions) a draw has ${points} data points (${images} of the ${n} held-out images) for ${k} channels; ` +
      `CCA needs more data points than channels. The data set is too small for this CCA: it needs at least ${need} images per held-out fold` +
      `${images === n ? '' : ` and targetPoints of at least ${need * hw}`}, or channels of at most ${Math.max(1, points - 1)}`,
  );
}

export default defineStage<CcaParams>({
  kind: 'cca',
  doc: "Layer-wise CCA similarity (svcca, mean of all canonical correlations) of the protocol's model pairs on one target and fold; writes cca.csv in the paper's CCA_<t>.csv layout and repeats.json.",
  version: '1',
  params: {
    ...ROLE_PARAM_SPECS,
    pairs: { type: 'string', doc: 'figure3: the five comparisons plotted in Figure 3; all: all 14 of the paper CSVs (needs freeze=true models too)', default: 'figure3', enum: ['figure3', 'all'] },
    targetPoints: { type: 'number', doc: 'Data points per CCA draw: n = round(targetPoints / (h w)) images (paper: 10000)', default: 10000, integer: true, min: 1 },
    channels: { type: 'number', doc: 'Channels drawn per layer, the same for both models (paper: 64)', default: 64, integer: true, min: 1 },
    repeats: { type: 'number', doc: 'Draws averaged per layer (paper: 5)', default: 5, integer: true, min: 1 },
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
    const { layerCca, deriveSeed, roundHalfEven } = await import('../src/stats/index.ts');
    const cache = new Map<string, { data: Float32Array; shape: number[] }>();
    const acts = (m: Model, layer: Layer) => {
      const k = `${m.input.id}/${layer}`;
      let a = cache.get(k);
      if (!a) {
        const arr = readNpy(fileOf(m.input, `acts/${layer}.npy`));
        if (arr.dtype !== '<f4' || arr.shape.length !== 4) {
          throw new StageError('CCA_BAD_ACTS', `${m.input.id}: acts/${layer}.npy must be float32 [n, h, w, c], found ${arr.dtype} [${arr.shape.join(', ')}]`);
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
        const a = acts(left, layer);
        checkEnoughPoints(ctx.id, layer, a.shape, p, roundHalfEven);
        let r;
        try {
          r = layerCca(a, acts(right, layer), {
            targetPoints: p.targetPoints,
            channels: p.channels,
            repeats: p.repeats,
            epsilon: p.epsilon,
            seed: deriveSeed(ctx.seed, 'cca', target, fold, pair.id, layer),
          });
        } catch (e) {
          // Bad input, not a bug: say which comparison and layer, without a stack.
          if (e instanceof Error && e.name === 'StatsError') throw new StageError(String((e as { code?: unknown }).code ?? 'CCA_FAILED'), `${ctx.id}: ${pair.id} at ${layer}: ${e.message}`);
          throw e;
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
