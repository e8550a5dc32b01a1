/**
 * Stage `extract`: activations of the five compared layers (protocol.md §4: conv1_relu,
 * conv2_block3_out, conv3_block4_out, conv4_block6_out, conv5_block3_out) on one fold's
 * held-out images, for one model: a fine-tuned model (upstream `finetune`), a pretrained
 * source before fine-tuning (upstream `pretrain`), or a fresh random init (no model
 * upstream; `randomSeed` picks which, so two seeds give the "random vs random" pair).
 *
 * To keep files bounded, layer L stores the first m_L = min(N, ceil(maxPoints / (h_L w_L)))
 * images of one seeded permutation of the held-out set. The permutation depends only on the
 * stage seed, target and fold, so every model of a (target, fold) sees the same stimuli;
 * `meta.json` records it and the CCA stage checks it.
 */
import { join } from 'node:path';
import { tfRuntimeKey } from '../src/study/training-params.ts';
import { defineStage, StageError } from '../src/core/contract.ts';
import { LAYERS } from '../src/study/names.ts';
import { fileOf, inputHW, inputsOfKind, loadPrepared, modelInfoOf, oneInputOfKind, subsetWhere, type StudyIdentity } from '../src/study/stage-io.ts';

/** Parameters of `extract`. */
export interface ExtractParams {
  fold: number;
  variant: string;
  randomSeed: number;
  maxPoints: number;
  batch: number;
  preprocess: string;
}

/** What extract adds to meta.json (next to writeActivations' model / images / layers). */
export interface ExtractMeta {
  /** Who the model is (role `random` for a fresh init). */
  study: Omit<StudyIdentity, 'role' | 'init'> & { role: 'finetuned' | 'source' | 'random'; init: string; randomSeed: number | null };
  /** Held-out rows (in the data set) in stimulus order; layer L uses the first perLayer[L]. */
  stimuli: { rows: number[]; perLayer: Record<string, number>; heldOut: number };
}

export default defineStage<ExtractParams>({
  kind: 'extract',
  doc: "Activations (acts/<layer>.npy, float32 NHWC) of the five compared layers on a fold's held-out images, for a fine-tuned model, a pretrained source or a fresh random init (randomSeed).",
  version: '1',
  params: {
    fold: { type: 'number', doc: 'Held-out fold k whose images are the stimuli', required: true, integer: true, min: 1 },
    variant: { type: 'string', doc: 'ResNet variant of a fresh random init (an upstream model brings its own from model.json)', default: 'resnet50' },
    randomSeed: { type: 'number', doc: 'Initialiser seed of a fresh random init (no model upstream); two seeds give two independent inits', default: 0, integer: true, min: 0 },
    maxPoints: { type: 'number', doc: 'Spatial positions kept per layer: m_L = ceil(maxPoints / (h w)) images (CCA draws round(targetPoints / (h w)) of them per repeat)', default: 20000, integer: true, min: 1 },
    batch: { type: 'number', doc: 'Images per forward pass', default: 32, integer: true, min: 1 },
    preprocess: { type: 'string', doc: 'Input normalisation (the study: caffe)', default: 'caffe', enum: ['caffe', 'tf', 'torch', 'none'] },
  },
  resources: { gpu: 1 },
  codeDeps: ['src/ml', 'src/stats/rng.ts', 'src/study/stage-io.ts', 'src/study/names.ts', 'src/study/training-params.ts', 'src/data/npy.ts', 'src/wasm'],
  runtimeKey: tfRuntimeKey,
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
    const { createRng, deriveSeed, permutation } = await import('../src/stats/rng.ts');
    const heldOut = subsetWhere(prepared, (f) => f === p.fold);
    const n = heldOut.shape[0];
    if (n === 0) throw new StageError('STUDY_EMPTY_FOLD', `${data.id}: fold ${p.fold} has no held-out images`);
    const order = permutation(createRng(deriveSeed(ctx.seed, 'extract-stimuli', target, p.fold)), n);
    const spatial = comparedSpatial([h, w]);
    const perLayer: Record<string, number> = {};
    for (const l of LAYERS) perLayer[l] = Math.min(n, Math.ceil(p.maxPoints / (spatial[l][0] * spatial[l][1])));
    const maxImages = Math.max(...Object.values(perLayer));

    const { loadTf } = await import('../src/ml/backend.ts');
    const { tf } = await loadTf();
    const backbone = buildResNet(tf, { variant, inputShape: [h, w, 3], seed: upstream ? 0 : p.randomSeed });
    if (upstream) {
      const { loadKerasWeights } = await import('../src/ml/keras-h5.ts');
      const report = await loadKerasWeights(backbone, fileOf(upstream, 'weights.h5'), { allowExtra: true, tf });
      ctx.log(`loaded ${report.loaded.length} layers from ${upstream.id}${report.extra.length ? ` (ignored: ${report.extra.join(', ')})` : ''}`);
    }
    const { extractActivations, writeActivations } = await import('../src/ml/extract.ts');
    const columns = comparedLayers(variant);
    const [, , , c] = heldOut.shape;
    const per = h * w * c;
    const acts = new Map<string, { data: Float32Array; shape: number[] }>();
    let done = 0;
    const total = LAYERS.reduce((s, l) => s + perLayer[l]!, 0);
    for (const l of LAYERS) {
      // Each layer runs on its own image count: a few images fill conv1's 10^4 positions, block4 needs hundreds.
      const m = perLayer[l]!;
      const images = new Uint8Array(m * per);
      for (let k = 0; k < m; k++) images.set(heldOut.images.subarray(order[k]! * per, (order[k]! + 1) * per), k * per);
      const got = await extractActivations(tf, backbone, { data: images, shape: [m, h, w, c] }, {
        layers: [columns[l]],
        batchSize: p.batch,
        mode: p.preprocess as 'caffe',
        onProgress: (d) => ctx.progress({ done: done + d, total, unit: 'image', message: l }),
      });
      done += m;
      acts.set(columns[l], got.get(columns[l])!);
    }
    const role: ExtractMeta['study']['role'] = !info ? 'random' : info.study.role;
    const meta: ExtractMeta & { model: string; images: number } = {
      model: upstream ? upstream.id : `${variant} random init (seed ${p.randomSeed})`,
      images: maxImages,
      study: {
        role,
        init: info?.study.init ?? 'random',
        source: info?.study.source ?? null,
        target,
        freeze: info?.study.freeze ?? null,
        fold: p.fold,
        randomSeed: upstream ? null : p.randomSeed,
      },
      stimuli: { rows: Array.from(order.subarray(0, maxImages), (k) => heldOut.rows[k]!), perLayer, heldOut: n },
    };
    writeActivations(ctx.outDir, acts, meta as unknown as Parameters<typeof writeActivations>[2], columns);
    ctx.log(`extracted ${LAYERS.map((l) => `${l} ${perLayer[l]} img`).join(', ')} into ${join('acts', '<layer>.npy')}`);
  },
});
