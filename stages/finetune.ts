/**
 * Stage `finetune`: one fine-tuning run of the study (protocol.md §2), dataset x source x
 * freeze x fold. Training images are the preprocess rows with folds != k, the held-out
 * (early-stopping and evaluation) images those with folds == k. The backbone starts from the
 * matching `pretrain` upstream's weights, or from random init when the source has none
 * (the "random init" column of Table 2). Outputs: weights.h5, history.csv, predictions.npy,
 * labels.npy, predictions.csv, metrics.json, plus model.json naming the run for the tables.
 */
import { SHARED_TRAINING_PARAMS, sharedTrainingOptions, tfRuntimeKey, tfGpuSupport, type SharedTrainingValues } from '../src/study/training-params.ts';
import { defineStage, StageError, type StageContext, type UpstreamInput } from '../src/core/contract.ts';
import { digestOf, fileOf, inputsOfKind, loadPrepared, modelInfoOf, oneInputOfKind, splitByFold, writeModelInfo } from '../src/study/stage-io.ts';

/** Parameters of `finetune`. */
export interface FinetuneParams extends SharedTrainingValues {
  fold: number;
  freeze: boolean;
  init: string;
  variant: string;
  epochs: number;
  lr: number;
  batch: number;
  patience: number;
  headEpochs: number;
  headLr: number;
  headPatience: number;
  headMonitor: 'val_loss' | 'val_acc';
  evalSize?: number;
}

/**
 * The pretrain upstream a run starts from (at most one), and whether its weights are used:
 * `init: auto` uses them when there is one, `random` never, `pretrained` insists on one.
 */
function initialWeights(ctx: StageContext<FinetuneParams>): { source: UpstreamInput | undefined; usePretrained: boolean } {
  const p = ctx.params;
  const sources = inputsOfKind(ctx.inputs, 'pretrain');
  if (sources.length > 1) {
    throw new StageError('FINETUNE_SOURCES', `${ctx.id} matched ${sources.length} pretrain instances (${sources.map((s) => s.id).join(', ')}); a fine-tuning run starts from one source`);
  }
  const source = sources[0];
  if (p.init === 'pretrained' && !source) {
    throw new StageError('FINETUNE_NO_SOURCE', `${ctx.id}: init is pretrained but no pretrain instance matched; check needs: and the source axis values`);
  }
  return { source, usePretrained: source !== undefined && p.init !== 'random' };
}

export default defineStage<FinetuneParams>({
  kind: 'finetune',
  doc: 'Fine-tune a ResNet classifier on one fold of a target (train: folds != k, held-out: folds == k), from the upstream pretrain weights or random init; optional freeze strategy (head first, then all layers).',
  version: '1',
  params: {
    fold: { type: 'number', doc: 'Held-out fold k (1-based): train on folds != k, early-stop and evaluate on fold k', required: true, integer: true, min: 1 },
    freeze: { type: 'boolean', doc: 'Freeze strategy: train the head with the backbone frozen first, then all layers', default: false },
    init: { type: 'string', doc: 'auto: the pretrain upstream if there is one, else random; random / pretrained force one (pretrained fails without an upstream)', default: 'auto', enum: ['auto', 'random', 'pretrained'] },
    variant: { type: 'string', doc: 'ResNet variant (must match the pretrain weights)', default: 'resnet50' },
    epochs: { type: 'number', doc: 'Maximum epochs of the all-layers phase (paper: 200 with early stopping)', default: 200, integer: true, min: 0 },
    lr: { type: 'number', doc: 'Adam learning rate of the all-layers phase (paper: 1e-5)', default: 1e-5, min: 0 },
    batch: { type: 'number', doc: 'Batch size (paper: 128 at 112/96 px, 32 at 224 px)', default: 128, integer: true, min: 1 },
    patience: { type: 'number', doc: 'Early-stopping patience on val_loss (paper: 3)', default: 3, integer: true, min: 0 },
    headEpochs: { type: 'number', doc: 'Maximum epochs of the head-only phase when freeze is true', default: 200, integer: true, min: 0 },
    headLr: { type: 'number', doc: 'Adam learning rate of the head-only phase (code: 1e-3)', default: 1e-3, min: 0 },
    headPatience: { type: 'number', doc: 'Early-stopping patience of the head-only phase (code: 2)', default: 2, integer: true, min: 0 },
    headMonitor: {
      type: 'string',
      doc: "Early-stopping monitor of the head-only phase: val_loss (the paper: the head is trained 'with the same hyperparameters') or val_acc (the study's code, EarlyStopping(monitor='val_acc'))",
      default: 'val_loss',
      enum: ['val_loss', 'val_acc'],
    },
    evalSize: {
      type: 'number',
      doc: 'Evaluate the held-out fold at this size (N x N) instead of the training size: the best checkpoint copied into a network built for it, the stored held-out images resized with NEAREST. The scripts that wrote the published AUC.csv and similarity.csv evaluated thyroid and mammograms at 112 (trained at 224)',
      integer: true,
      min: 8,
    },
    ...SHARED_TRAINING_PARAMS,
  },
  resources: { gpu: 1 },
  codeDeps: ['src/ml', 'src/stats', 'src/study/stage-io.ts', 'src/study/training-params.ts', 'src/data/npy.ts', 'src/wasm'],
  runtimeKey: tfRuntimeKey,
  gpuSupport: tfGpuSupport,
  async run(ctx) {
    const p = ctx.params;
    const prepared = loadPrepared(oneInputOfKind(ctx.inputs, 'preprocess', ctx.id));
    const { source, usePretrained } = initialWeights(ctx);
    const { train, heldOut } = splitByFold(prepared, p.fold);
    const classes = prepared.manifest.classes.length;
    const [, h, w] = prepared.shape;
    const { loadTf } = await import('../src/ml/backend.ts');
    const { finetune } = await import('../src/ml/train/finetune.ts');
    const { writeRunOutputs } = await import('../src/ml/train/outputs.ts');
    const { tf } = await loadTf();
    const shared = sharedTrainingOptions(p, usePretrained ? modelInfoOf(source!)?.preprocess : undefined);
    ctx.log(`${prepared.id}: ${train.shape[0]} training / ${heldOut.shape[0]} held-out images (fold ${p.fold}); init ${usePretrained ? `from ${source!.id}` : 'random'}; input normalisation ${shared.params.preprocess}`);
    if (p.freeze) ctx.log(`head phase (backbone frozen): Adam lr ${p.headLr}, early stopping on ${p.headMonitor} with patience ${p.headPatience}, at most ${p.headEpochs} epochs`);
    const result = await finetune(tf, {
      model: {
        variant: p.variant,
        inputSize: [h, w],
        classes,
        init: usePretrained ? { kind: 'pretrain', path: fileOf(source!, 'weights.h5') } : { kind: 'random' },
        ...shared.model,
      },
      train,
      val: heldOut,
      params: {
        lr: p.lr,
        batchSize: p.batch,
        maxEpochs: p.epochs,
        patience: p.patience,
        freeze: p.freeze,
        headPhase: { lr: p.headLr, patience: p.headPatience, maxEpochs: p.headEpochs, monitor: p.headMonitor },
        ...shared.params,
        seed: ctx.seed,
      },
      workDir: ctx.workDir,
      onProgress: (x) => ctx.progress(x),
      signal: ctx.signal,
      log: (m) => ctx.log(m),
    });
    const evalSize: [number, number] = p.evalSize === undefined ? [h, w] : [p.evalSize, p.evalSize];
    if (evalSize[0] !== h || evalSize[1] !== w) {
      const { evaluateAtSize } = await import('../src/study/eval-size.ts');
      const { evaluationMetrics } = await import('../src/ml/train/metrics.ts');
      const ev = evaluateAtSize(tf, result.model, heldOut, { variant: p.variant, classes, size: evalSize, preprocess: shared.params.preprocess, batch: p.batch });
      const m = result.metrics;
      result.predictions = { probs: ev.probs, shape: ev.shape, labels: result.predictions.labels };
      // valLoss stays the training-size one (early stopping and checkpoint choice used it).
      result.metrics = evaluationMetrics({ head: m.head, classes: m.classes, probs: ev.probs, labels: result.predictions.labels, valLoss: m.valLoss, accuracy: ev.accuracy, bestEpoch: m.bestEpoch, epochs: m.epochs, history: result.history, seed: m.seed, nTrain: m.nTrain });
      ctx.log(`held-out fold evaluated at ${evalSize[0]}x${evalSize[1]} (trained at ${h}x${w}): AUC ${result.metrics.auc ?? 'n/a'} (at the training size: ${m.auc ?? 'n/a'})`);
    }
    const target = ctx.axes.dataset === undefined ? prepared.manifest.dataset : String(ctx.axes.dataset);
    const sourceName = ctx.axes.source === undefined ? (usePretrained ? null : 'random') : String(ctx.axes.source);
    await writeRunOutputs(ctx.outDir, result, {
      classNames: prepared.manifest.classes,
      extraMetrics: { dataset: target, source: sourceName, freeze: p.freeze, fold: p.fold, init: usePretrained ? source!.id : 'random', ...(p.evalSize === undefined ? {} : { trainSize: [h, w], evalSize }) },
    });
    const initFrom = usePretrained ? { initFrom: { instance: source!.id, weightsSha256: digestOf(source!, 'weights.h5') } } : {};
    writeModelInfo(ctx.outDir, { variant: p.variant, inputSize: [h, w], classes, ...initFrom, preprocess: shared.params.preprocess }, {
      role: 'finetuned',
      init: usePretrained ? 'pretrained' : 'random',
      source: sourceName,
      target,
      freeze: p.freeze,
      fold: p.fold,
    });
    ctx.log(`AUC ${result.metrics.auc ?? 'n/a'}, accuracy ${result.metrics.accuracy.toFixed(3)}, best epoch ${result.metrics.bestEpoch ?? '-'} of ${result.metrics.epochs}`);
  },
});
