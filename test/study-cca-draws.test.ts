/**
 * CCA stimulus draws as the paper samples them: every repeat draws its images afresh from the
 * whole held-out fold (CCA.py shuffles the fold and takes the first batch per repeat), not from
 * a small stored pool. Checked on the pure planner and on the real extract and cca stages
 * (resnet-micro random inits on a small prepared data set).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { StageContext, UpstreamInput } from '../src/core/contract.ts';
import { readNpy, writeNpy } from '../src/data/npy.ts';
import { createRng, layerCca, layerCcaOfDraws, planLayerDraws } from '../src/stats/index.ts';
import extractStage from '../stages/extract.ts';
import ccaStage from '../stages/cca.ts';

const root = mkdtempSync(join(tmpdir(), 'dag-cca-draws-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

test('planLayerDraws: each draw samples the whole fold afresh; images shared by every model width', () => {
  const seen = new Set<number>();
  for (let seed = 0; seed < 60; seed++) {
    const d = planLayerDraws({ n: 100, h: 100, w: 100, c: 64, points: 10_000, draws: 5, channels: 64, seed });
    assert.equal(d.perDraw, 1);
    for (const imgs of d.images) seen.add(imgs[0]!);
  }
  assert.ok(seen.size > 90, `300 one-image draws reach ${seen.size} of the 100 held-out images`);
  const a = planLayerDraws({ n: 50, h: 8, w: 8, c: 256, points: 1000, draws: 5, channels: 64, seed: 3 });
  const b = planLayerDraws({ n: 50, h: 8, w: 8, c: 512, points: 1000, draws: 5, channels: 64, seed: 3 });
  assert.equal(a.perDraw, 16);
  assert.deepEqual(a.images, b.images, 'the same images whatever the channel count');
  assert.equal(new Set(a.images.map((x) => x.join())).size, 5, 'five different draws');
  for (const imgs of a.images) assert.equal(new Set(imgs).size, 16, 'no image twice within a draw');
  assert.equal(a.channels[0]!.length, 64);
  assert.ok(a.channels.every((ch) => ch.every((k) => k < 256)));
});

test('layerCcaOfDraws: repeat r on draw r, mean over repeats; more repeats than draws is an error', () => {
  const [D, m, h, w, k] = [3, 4, 5, 5, 6];
  const size = D * m * h * w * k;
  const rng = createRng(5);
  const A = { data: Float64Array.from({ length: size }, () => rng.next()), shape: [D, m, h, w, k] };
  const B = { data: A.data.map((v) => 0.5 * v + rng.next()), shape: [D, m, h, w, k] };
  const r = layerCcaOfDraws(A, B, { targetPoints: m * h * w, channels: k, repeats: 3, seed: 1 });
  const per = m * h * w * k;
  const one = (d: number) => layerCca({ data: A.data.subarray(d * per, (d + 1) * per), shape: [m, h, w, k] }, { data: B.data.subarray(d * per, (d + 1) * per), shape: [m, h, w, k] }, { targetPoints: m * h * w, channels: k, repeats: 1, seed: 99 }).mean;
  // With every image and channel of a draw used, the draw's value does not depend on the seed.
  for (let d = 0; d < 3; d++) assert.ok(Math.abs(r.repeats[d]! - one(d)) < 1e-12);
  assert.ok(Math.abs(r.mean - (r.repeats[0]! + r.repeats[1]! + r.repeats[2]!) / 3) < 1e-15);
  assert.throws(() => layerCcaOfDraws(A, B, { repeats: 4, seed: 1 }), /4 repeats asked but only 3 draws stored/);
});

function ctx(kind: string, id: string, params: Record<string, unknown>, inputs: UpstreamInput[], axes: Record<string, string | number>): StageContext {
  const outDir = join(root, id.replace(/[^a-z0-9]+/gi, '_'));
  mkdirSync(outDir, { recursive: true });
  return {
    id,
    stage: kind,
    kind,
    axes,
    params,
    inputs,
    outDir,
    workDir: outDir,
    seed: 0,
    device: { type: 'cpu' },
    cpus: 1,
    pipelineDir: root,
    progress: () => {},
    log: () => {},
    warn: () => {},
    signal: new AbortController().signal,
  } as StageContext;
}

function upstream(stage: string, kind: string, id: string, dir: string, axes: Record<string, string | number>): UpstreamInput {
  const files: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(dir, p)] = p;
    }
  };
  walk(dir);
  return { stage, kind, id, axes, files, digests: Object.fromEntries(Object.keys(files).map((f) => [f, '0'.repeat(64)])) };
}

test('extract stores fresh draws from the whole held-out fold; cca averages its repeats over them', { timeout: 120_000 }, async () => {
  // 60 images of 32 px: fold 1 holds 40 of them (rows 0, 1, 3, 4, ...), fold 2 the other 20.
  const n = 60;
  const prep = join(root, 'prep');
  mkdirSync(prep, { recursive: true });
  writeNpy(join(prep, 'images.npy'), Uint8Array.from({ length: n * 32 * 32 * 3 }, (_, i) => (i * 7919 + (i >> 7) * 31) % 251), [n, 32, 32, 3]);
  writeNpy(join(prep, 'labels.npy'), Int32Array.from({ length: n }, (_, i) => i % 2), [n]);
  const folds = Int32Array.from({ length: n }, (_, i) => (i % 3 === 2 ? 2 : 1));
  writeNpy(join(prep, 'folds.npy'), folds, [n]);
  writeFileSync(join(prep, 'manifest.json'), JSON.stringify({ dataset: 't', classes: ['a', 'b'], size: [32, 32], count: n, folds: 2 }));
  const heldOutRows = [...folds.keys()].filter((i) => folds[i] === 1);
  const pre = upstream('preprocess', 'preprocess', 'preprocess[dataset=t]', prep, { dataset: 't' });

  const extracts: UpstreamInput[] = [];
  for (const init of [1, 2]) {
    const id = `extract-random[dataset=t,init=${init},fold=1]`;
    // resnet-micro at 32 px: conv1 is 16 x 16, so 256 points give one image per draw; 20 draws.
    const c = ctx('extract', id, { fold: 1, variant: 'resnet-micro', randomSeed: init, draws: 20, points: 256, channels: 8, batch: 16, preprocess: 'caffe' }, [pre], { dataset: 't', init, fold: 1 });
    await extractStage.run(c as never);
    extracts.push(upstream('extract-random', 'extract', id, c.outDir, { dataset: 't', init, fold: 1 }));
  }
  const meta = JSON.parse(readFileSync(extracts[0]!.files['meta.json']!, 'utf8'));
  const conv1 = meta.stimuli.layers.conv1;
  assert.equal(conv1.perDraw, 1);
  const drawn = new Set<number>(conv1.rows.map((r: number[]) => r[0]));
  assert.ok(conv1.rows.every((r: number[]) => heldOutRows.includes(r[0]!)), 'only held-out images');
  // A stored pool would confine 20 one-image draws to a couple of images; fresh draws reach most of the 40.
  assert.ok(drawn.size >= 10, `20 conv1 draws used ${drawn.size} distinct held-out images`);
  assert.deepEqual(JSON.parse(readFileSync(extracts[1]!.files['meta.json']!, 'utf8')).stimuli.layers, meta.stimuli.layers, 'both models see the same draws');
  const acts = readNpy(extracts[0]!.files['acts/conv1.npy']!);
  assert.deepEqual(acts.shape, [20, 1, 16, 16, 8]);
  const block4 = readNpy(extracts[0]!.files['acts/block4.npy']!);
  assert.equal(block4.shape[1], 40, 'block4 (1 x 1) draws are capped at the 40 held-out images');

  const c = ctx('cca', 'cca[dataset=t,fold=1]', { natural: 'natural', medical: 'medical', names: {}, pairs: 'figure3', targetPoints: 256, channels: 8, repeats: 5, epsilon: 1e-12 }, extracts, { dataset: 't', fold: 1 });
  await ccaStage.run(c as never);
  const csv = readFileSync(join(c.outDir, 'cca.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 2, csv.join('\n'));
  assert.match(csv[1]!, /^random,random,fold1,t,/);
  const reps = JSON.parse(readFileSync(join(c.outDir, 'repeats.json'), 'utf8'));
  assert.equal(reps.pairs[0].layers.conv1.length, 5);
  assert.equal(new Set(reps.pairs[0].layers.conv1).size, 5, 'five repeats on five different draws');

  const tooMany = ctx('cca', 'cca[dataset=t,fold=1]-b', { natural: 'natural', medical: 'medical', names: {}, pairs: 'figure3', targetPoints: 256, channels: 8, repeats: 21, epsilon: 1e-12 }, extracts, { dataset: 't', fold: 1 });
  await assert.rejects(ccaStage.run(tooMany as never), /repeats is 21 but the extract stages stored 20 draws per layer/);
});
