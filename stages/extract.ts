/**
 * Stage `extract`: activations of the five compared layers (protocol.md §4: conv1_relu,
 * conv2_block3_out, conv3_block4_out, conv4_block6_out, conv5_block3_out) on one fold's
 * held-out images, for one model: a fine-tuned model (upstream `finetune`), a pretrained
 * source before fine-tuning (upstream `pretrain`), or a fresh random init (no model
 * upstream; `randomSeed` picks which, so two seeds give the "random vs random" pair).
 *
 * It stores the CCA stimulus draws, not every activation: per layer, `draws` times,
 * round(points / (h w)) images drawn afresh from the WHOLE held-out fold and `channels`
 * channels (the paper: 5 draws of ~10,000 points and 64 channels), as
 * acts/<layer>.npy float32 [draws, m, h, w, k]. The draws depend only on the stage seed,
 * target, fold and layer (and the channel count), so every model of a (target, fold) gets the
 * same images; `meta.json` records them and the CCA stage checks it.
 */
import { join } from 'node:path';
import { PREPROCESS_PARAM, resolvePreprocess, tfRuntimeKey, tfGpuSupport } from '../src/study/training-params.ts';
import { defineStage, StageError } from '../src/core/contract.ts';
import { LAYERS, type Layer } from '../src/study/names.ts';
import { fileOf, inputHW, inputsOfKind, loadPrepared, modelInfoOf, oneInputOfKind, subsetWhere, type StudyIdentity } from '../src/study/stage-io.ts';

/** Parameters of `extract`. */
export interface ExtractParams {
  fold: number;
  variant: string;
  randomSeed: number;
  draws: number;
  points: number;
  channels: number;
  batch: number;
  preprocess: string;
}

/** One layer's stimulus draws as meta.json records them. */
export interface LayerDrawsMeta {
  /** Images per draw. */
  perDraw: number;
  /** Per draw, the data-set rows (index.csv order) of its images. */
  rows: number[][];
  /** Per draw, the channel indices kept. */
  channels: number[][];
}

/** What extract adds to meta.json (next to writeActivations' model / images / layers). */
export interface ExtractMeta {
  /** Who the model is (role `random` for a fresh init). */
  study: Omit<StudyIdentity, 'role' | 'init'> & { role: 'finetuned' | 'source' | 'random'; init: string; randomSeed: number | null };
  /** The CCA stimulus draws per layer (images drawn afresh from all `heldOut` images every draw). */
  stimuli: { heldOut: number; draws: number; points: number; layers: Record<string, LayerDrawsMeta> };
}

export default defineStage<ExtractParams>({
  kind: 'extract',
  doc: "CCA stimulus draws of the five compared layers (acts/<layer>.npy, float32 [draws, images, h, w, channels]) on a fold's held-out images, for a fine-tuned model, a pretrained source or a fresh random init (randomSeed); each draw samples the whole fold afresh.",
  version: '2',
  params: {
    fold: { type: 'number', doc: 'Held-out fold k whose images are the stimuli', required: true, integer: true, min: 1 },
    variant: { type: 'string', doc: 'ResNet variant of a fresh random init (an upstream model brings its own from model.json)', default: 'resnet50' },
    randomSeed: { type: 'number', doc: 'Initialiser seed of a fresh random init (no model upstream); two seeds give two independent inits', default: 0, integer: true, min: 0 },
    draws: { type: 'number', doc: 'Stimulus draws per layer, each sampled afresh from the whole held-out fold (the CCA stage averages its repeats over them; paper: 5)', default: 5, integer: true, min: 1 },
    points: { type: 'number', doc: 'Data points per draw: round(points / (h w)) images (paper: 10000)', default: 10000, integer: true, min: 1 },
    channels: { type: 'number', doc: 'Channels kept per draw, the same indices for every model of the fold (paper: 64)', default: 64, integer: true, min: 1 },
    batch: { type: 'number', doc: 'Images per forward pass', default: 32, integer: true, min: 1 },
    preprocess: PREPROCESS_PARAM,
  },
  resources: { gpu: 1 },
  codeDeps: ['src/ml', 'src/stats/rng.ts', 'src/study/stage-io.ts', 'src/study/names.ts', 'src/study/training-params.ts', 'src/data/npy.ts', 'src/wasm'],
  runtimeKey: tfRuntimeKey,
  gpuSupport: tfGpuSupport,
  async run(ctx) {
    const p = ctx.params;
    const data = oneInputOfKind(ctx.inputs, 'preprocess', ctx.id);
    const prepared = loadPrepared(data);
    const models = [...inputsOfKind(ctx.inputs, 'finetune'), ...inputsOfKind(ctx.inputs, 'pretrain')];
    if (models.length > 1) {
      throw new StageError('EXTRACT_MODELS', `${ctx.id} matched ${models.length} model instances (${models.map((m) => m.id).join(', ')}); one extract instance reads one model`);
    }
    const upstream = models[0];
    const info = upstream ? modelInfoOf(upstream) : undefined;
    if (upstream && !info) throw new StageError('EXTRACT_NO_MODEL_JSON', `${upstream.id} has no model.json; re-run it with this version of dag`);
    const variant = info?.variant ?? p.variant;
    const target = ctx.axes.dataset === undefined ? prepared.manifest.dataset : String(ctx.axes.dataset);
    const [, h, w] = prepared.shape;
    if (info) {
      const [mh, mw] = inputHW(info);
      if (info.study.role === 'finetuned' && (mh !== h || mw !== w)) {
        ctx.warn(`${upstream!.id} was trained at ${mh}x${mw} and is evaluated on ${h}x${w} images (the network is fully convolutional)`);
      }
    }

    const { comparedLayers, comparedSpatial, buildResNet } = await import('../src/ml/resnet.ts');
    const { deriveSeed, planLayerDraws } = await import('../src/stats/index.ts');
    const heldOut = subsetWhere(prepared, (f) => f === p.fold);
    const n = heldOut.shape[0];
    if (n === 0) throw new StageError('STUDY_EMPTY_FOLD', `${data.id}: fold ${p.fold} has no held-out images`);
    const spatial = comparedSpatial([h, w]);

    const { loadTf } = await import('../src/ml/backend.ts');
    const { tf } = await loadTf();
    const backbone = buildResNet(tf, { variant, inputShape: [h, w, 3], seed: upstream ? 0 : p.randomSeed });
    if (upstream) {
      const { loadKerasWeights } = await import('../src/ml/keras-h5.ts');
      const report = await loadKerasWeights(backbone, fileOf(upstream, 'weights.h5'), { allowExtra: true, tf });
      ctx.log(`loaded ${report.loaded.length} layers from ${upstream.id}${report.extra.length ? ` (ignored: ${report.extra.join(', ')})` : ''}`);
    }
    const { forEachActivationBatch, writeActivations } = await import('../src/ml/extract.ts');
    const columns = comparedLayers(variant);
    // Plan every layer's draws, then run each needed image through the network once.
    const plans = new Map<string, { layer: Layer; plan: ReturnType<typeof planLayerDraws>; hw: number; c: number; out: Float32Array; slots: Map<number, Array<[number, number]>> }>();
    const needed = new Set<number>();
    for (const l of LAYERS) {
      const [lh, lw] = spatial[l];
      const c = (backbone.getLayer(columns[l]).outputShape as number[])[3]!;
      const plan = planLayerDraws({ n, h: lh, w: lw, c, points: p.points, draws: p.draws, channels: p.channels, seed: deriveSeed(ctx.seed, 'cca-draws', target, p.fold, l) });
      const slots = new Map<number, Array<[number, number]>>();
      plan.images.forEach((imgs, r) => imgs.forEach((img, j) => {
        needed.add(img);
        (slots.get(img) ?? slots.set(img, []).get(img)!).push([r, j]);
      }));
      const k = plan.channels[0]!.length;
      plans.set(columns[l], { layer: l, plan, hw: lh * lw, c, out: new Float32Array(p.draws * plan.perDraw * lh * lw * k), slots });
    }
    const union = Int32Array.from([...needed].sort((x, y) => x - y));
    const mode = resolvePreprocess(p.preprocess, info?.preprocess);
    ctx.log(`input normalisation: ${mode}${p.preprocess === 'auto' ? (info?.preprocess ? ` (recorded by ${upstream!.id})` : ' (the study code\'s default)') : ''}`);
    await forEachActivationBatch(
      tf,
      backbone,
      { data: heldOut.images, shape: heldOut.shape as [number, number, number, number] },
      {
        layers: [...plans.keys()],
        batchSize: p.batch,
        mode,
        indices: union,
        onProgress: (d) => ctx.progress({ done: d, total: union.length, unit: 'image', message: `${union.length} of ${n} held-out images drawn` }),
      },
      (layerName, start, count, batch) => {
        const e = plans.get(layerName)!;
        const { hw, c, plan, out, slots } = e;
        for (let b = 0; b < count; b++) {
          for (const [r, j] of slots.get(union[start + b]!) ?? []) {
            const ch = plan.channels[r]!;
            const k = ch.length;
            const dst = (r * plan.perDraw + j) * hw * k;
            const src = b * hw * c;
            for (let px = 0; px < hw; px++) for (let t = 0; t < k; t++) out[dst + px * k + t] = batch[src + px * c + ch[t]!]!;
          }
        }
      },
    );
    const acts = new Map<string, { data: Float32Array; shape: number[] }>();
    const layersMeta: Record<string, LayerDrawsMeta> = {};
    for (const [name, e] of plans) {
      const [lh, lw] = spatial[e.layer];
      acts.set(name, { data: e.out, shape: [p.draws, e.plan.perDraw, lh, lw, e.plan.channels[0]!.length] });
      layersMeta[e.layer] = {
        perDraw: e.plan.perDraw,
        rows: e.plan.images.map((imgs) => Array.from(imgs, (k) => heldOut.rows[k]!)),
        channels: e.plan.channels.map((ch) => Array.from(ch)),
      };
    }
    const role: ExtractMeta['study']['role'] = !info ? 'random' : info.study.role;
    const meta: ExtractMeta & { model: string; images: number } = {
      model: upstream ? upstream.id : `${variant} random init (seed ${p.randomSeed})`,
      images: union.length,
      study: {
        role,
        init: info?.study.init ?? 'random',
        source: info?.study.source ?? null,
        target,
        freeze: info?.study.freeze ?? null,
        fold: p.fold,
        randomSeed: upstream ? null : p.randomSeed,
      },
      stimuli: { heldOut: n, draws: p.draws, points: p.points, layers: layersMeta },
    };
    writeActivations(ctx.outDir, acts, meta as unknown as Parameters<typeof writeActivations>[2], columns);
    ctx.log(`extracted ${p.draws} draws per layer (${LAYERS.map((l) => `${l} ${layersMeta[l]!.perDraw} img`).join(', ')} per draw; ${union.length} of ${n} held-out images used) into ${join('acts', '<layer>.npy')}`);
  },
});
