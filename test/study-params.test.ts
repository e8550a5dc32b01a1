/**
 * Study params that restore the paper's code or follow the paper: the per-source input
 * normalisation (`preprocess` on pretrain, finetune and extract, `auto` inheriting the
 * source's recorded mode) and the head phase's early-stopping monitor (`headMonitor`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipeline } from '../src/pipeline/load.ts';
import { resolvePreprocess } from '../src/study/training-params.ts';
import { preprocessPixels } from '../src/ml/preprocess-input.ts';
import pretrain from '../stages/pretrain.ts';
import finetune from '../stages/finetune.ts';
import extract from '../stages/extract.ts';

const dir = mkdtempSync(join(tmpdir(), 'dag-study-params-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('preprocess: caffe, radimagenet, tf, torch and none on pretrain, finetune and extract; auto follows the source', () => {
  for (const kind of [pretrain, finetune, extract]) {
    const spec = kind.params.preprocess as { enum: readonly string[]; default: string };
    for (const m of ['caffe', 'radimagenet', 'tf', 'torch', 'none']) assert.ok(spec.enum.includes(m), `${kind.kind} accepts ${m}`);
    assert.equal(spec.default, 'auto', `${kind.kind} defaults to auto`);
  }
  assert.equal(resolvePreprocess('auto', undefined), 'caffe', "no recorded mode: caffe, as the study's code for every source");
  assert.equal(resolvePreprocess('auto', 'radimagenet'), 'radimagenet', 'auto inherits the source');
  assert.equal(resolvePreprocess('tf', 'radimagenet'), 'tf', 'an explicit mode wins');
  const px = { data: Uint8Array.of(10, 20, 30), shape: [1, 1, 1, 3] as [number, number, number, number] };
  assert.deepEqual([...preprocessPixels(px, 'none')], [10, 20, 30]);
  const caffe = preprocessPixels(px, 'caffe');
  const rin = preprocessPixels(px, 'radimagenet');
  caffe.forEach((v, k) => assert.ok(Math.abs(rin[k]! - v / 255) < 1e-6));
});

test('a pipeline sets preprocess per source; headMonitor takes val_loss or val_acc and nothing else', async () => {
  const yaml = (monitor: string) => `version: 1
datasets:
  t: { family: blobs }
sources:
  imagenet: { preprocess: caffe }
  radimagenet: { preprocess: radimagenet }
stages:
  data:
    uses: preprocess
    matrix: { dataset: $datasets }
    params: { adapter: synthetic, size: 32, folds: 2 }
  pretrain:
    uses: pretrain
    needs: [data]
    matrix: { source: $sources }
    params: { variant: resnet-micro, preprocess: "\${source.preprocess}" }
  finetune:
    uses: finetune
    needs: [data, pretrain]
    matrix: { dataset: $datasets, source: [imagenet, radimagenet, random] }
    params: { fold: 1, freeze: true, variant: resnet-micro, headMonitor: ${monitor} }
  extract:
    uses: extract
    needs: [data, finetune]
    matrix: { dataset: $datasets, source: [imagenet, radimagenet] }
    params: { fold: 1, preprocess: auto }
`;
  writeFileSync(join(dir, 'ok.yaml'), yaml('val_acc'));
  const ok = await loadPipeline(join(dir, 'ok.yaml'));
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.errors));
  const pre = ok.plan.instances.get('pretrain[source=radimagenet]')!;
  assert.equal(pre.params.preprocess, 'radimagenet');
  assert.equal([...ok.plan.instances.values()].find((i) => i.id.startsWith('finetune['))!.params.headMonitor, 'val_acc');
  writeFileSync(join(dir, 'bad.yaml'), yaml('val_auc'));
  const bad = await loadPipeline(join(dir, 'bad.yaml'));
  assert.ok(!bad.ok);
  assert.match(bad.errors.map((e) => e.message).join('\n'), /headMonitor.*val_auc/);
  assert.equal((finetune.params.headMonitor as { default: string }).default, 'val_loss', "the paper's rule by default ('same hyperparameters')");
});
