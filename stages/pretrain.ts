/**
 * Stage `pretrain`: a source model for transfer. Two modes behind one interface, so the
 * default pipeline and the paper pipeline wire sources the same way:
 * - `weights: path.h5` given: validate a Keras file (e.g. ImageNet's or RadImageNet's
 *   `ResNet50 notop`) against the variant's layer names and shapes and republish it;
 * - otherwise train the variant from random init on the upstream `preprocess` data set
 *   (the default pipeline's synthetic "natural" and "medical" sources).
 * Outputs: weights.h5, history.csv, metrics.json, model.json.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolvePreprocess, SHARED_TRAINING_PARAMS, sharedTrainingOptions, tfRuntimeKey, tfGpuSupport, type SharedTrainingValues } from '../src/study/training-params.ts';
import { defineStage, StageError } from '../src/core/contract.ts';
import { inputsOfKind, loadPrepared, splitByFold, writeModelInfo } from '../src/study/stage-io.ts';

/** Parameters of `pretrain`. */
export interface PretrainParams extends SharedTrainingValues {
  weights?: string;
  variant: string;
  inputSize: number;
  epochs: number;
  lr: number;
  batch: number;
  patience: number;
  valFold: number;
}

const HISTORY_HEADER = 'epoch,phase,loss,acc,val_loss,val_acc,lr\n';

export default defineStage<PretrainParams>({
  kind: 'pretrain',
  doc: 'A source model: validates and republishes a given Keras .h5 (weights:), or trains the variant from scratch on the upstream preprocess data set. Writes weights.h5, history.csv, metrics.json, model.json.',
  version: '1',
  params: {
    weights: { type: 'path', doc: 'Keras .h5 weights to validate and republish (backbone-only "notop" or with a head); omit to train on the upstream data set', mustExist: 'file' },
    variant: { type: 'string', doc: 'ResNet variant (resnet50, resnet-mini, resnet-micro)', default: 'resnet50' },
    inputSize: { type: 'number', doc: 'Input size recorded in model.json when weights: is given (training uses the data set size)', default: 224, integer: true, min: 8 },
    epochs: { type: 'number', doc: 'Maximum training epochs (training mode)', default: 10, integer: true, min: 0 },
    lr: { type: 'number', doc: 'Adam learning rate (training from scratch)', default: 1e-3, min: 0 },
    batch: { type: 'number', doc: 'Batch size', default: 32, integer: true, min: 1 },
    patience: { type: 'number', doc: 'Early-stopping patience on val_loss', default: 3, integer: true, min: 0 },
    valFold: { type: 'number', doc: 'Fold of the source data set held out for early stopping and checkpoint choice', default: 1, integer: true, min: 1 },
    ...SHARED_TRAINING_PARAMS,
  },
  resources: { gpu: 1 },
  codeDeps: ['src/ml', 'src/stats/rng.ts', 'src/study/stage-io.ts', 'src/study/training-params.ts', 'src/data/npy.ts', 'src/wasm'],
  runtimeKey: tfRuntimeKey,
  gpuSupport: tfGpuSupport,
  async run(ctx) {
    const p = ctx.params;
    const source = ctx.axes.source === undefined ? null : String(ctx.axes.source);
    const data = inputsOfKind(ctx.inputs, 'preprocess');
    if (p.weights !== undefined) {
      if (data.length > 0) ctx.warn(`weights: is given, so the upstream data set(s) ${data.map((d) => d.id).join(', ')} are not used`);
      const { checkWeightsFit, inspectKerasWeights } = await import('../src/ml/keras-h5.ts');
      const info = await inspectKerasWeights(p.weights);
      const fit = await checkWeightsFit(p.weights, p.variant);
      if (fit.missing.length > 0 || fit.mismatched.length > 0) {
        const m = fit.mismatched[0];
        throw new StageError(
          'PRETRAIN_WEIGHTS_MISMATCH',
          `${p.weights} does not fit ${p.variant}: ${fit.missing.length} layer(s) missing${fit.missing.length ? ` (e.g. ${fit.missing.slice(0, 3).join(', ')})` : ''}` +
            `${m ? `; layer '${m.layer}' weight '${m.weight}': expected [${m.expected?.join(', ') ?? '-'}], found [${m.found?.join(', ') ?? '-'}]` : ''}`,
          { missing: fit.missing.slice(0, 20), mismatched: fit.mismatched.length },
        );
      }
      if (fit.extra.length > 0) ctx.log(`extra layers in ${p.weights} (ignored when loading the backbone): ${fit.extra.join(', ')}`);
      copyFileSync(p.weights, join(ctx.outDir, 'weights.h5'));
      writeFileSync(join(ctx.outDir, 'history.csv'), HISTORY_HEADER);
      const metrics = { mode: 'file', file: p.weights, layout: info.layout, kerasVersion: info.kerasVersion, matchedLayers: fit.matched.length, extraLayers: fit.extra };
      writeFileSync(join(ctx.outDir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
      writeModelInfo(ctx.outDir, { variant: p.variant, inputSize: [p.inputSize, p.inputSize], classes: null, preprocess: resolvePreprocess(p.preprocess, undefined) }, { role: 'source', init: 'file', source, target: null, freeze: null, fold: null });
      return;
    }
    if (data.length !== 1) {
      throw new StageError(
        'PRETRAIN_NO_DATA',
        `${ctx.id}: give either weights: (a Keras .h5) or exactly one upstream preprocess instance to train on; found ${data.length}${data.length ? ` (${data.map((d) => d.id).join(', ')})` : ''}`,
      );
    }
    const prepared = loadPrepared(data[0]!);
    const { train, heldOut } = splitByFold(prepared, p.valFold);
    const { loadTf } = await import('../src/ml/backend.ts');
    const { finetune } = await import('../src/ml/train/finetune.ts');
    const { writeRunOutputs } = await import('../src/ml/train/outputs.ts');
    const { deriveSeed } = await import('../src/stats/rng.ts');
    const { tf } = await loadTf();
    const classes = prepared.manifest.classes.length;
    const [, h, w] = prepared.shape;
    const shared = sharedTrainingOptions(p);
    const result = await finetune(tf, {
      model: { variant: p.variant, inputSize: [h, w], classes, init: { kind: 'random' }, ...shared.model },
      train,
      val: heldOut,
      params: {
        lr: p.lr,
        batchSize: p.batch,
        maxEpochs: p.epochs,
        patience: p.patience,
        ...shared.params,
        // Each source gets its own initialisation: two sources trained from one seed would
        // start identical and stay similar, which CCA between them would report as transfer.
        seed: deriveSeed(ctx.seed, 'pretrain', source ?? ctx.id) % 2147483647,
      },
      workDir: ctx.workDir,
      onProgress: (x) => ctx.progress(x),
      signal: ctx.signal,
      log: (m) => ctx.log(m),
    });
    await writeRunOutputs(ctx.outDir, result, { classNames: prepared.manifest.classes, extraMetrics: { dataset: prepared.manifest.dataset, source } });
    writeModelInfo(ctx.outDir, { variant: p.variant, inputSize: [h, w], classes, preprocess: shared.params.preprocess }, { role: 'source', init: 'scratch', source, target: null, freeze: null, fold: null });
    ctx.log(`pretrained ${p.variant} on ${prepared.id}: AUC ${result.metrics.auc ?? 'n/a'}, accuracy ${result.metrics.accuracy.toFixed(3)} after ${result.metrics.epochs} epoch(s)`);
  },
});
