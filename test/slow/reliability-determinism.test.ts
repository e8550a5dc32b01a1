/**
 * Byte-deterministic artifacts (issue 13), through the real CLI: a micro copy of the study
 * pipeline with every stage kind (preprocess, pretrain, finetune, extract, cca, predsim,
 * correlate-gain, report) runs from scratch into two caches, one second apart (HDF5
 * timestamps would differ), and every output of every instance has the same bytes (same
 * content digest) in both. No artifact holds the cache's absolute path.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collect, DAG_BIN } from '../fixtures/kinds/_rig.ts';

const PIPELINE = `version: 1
seed: 0
cache: cache
datasets:
  xray: { family: radiology, classes: 2, count: 24, seed: 11 }
sources:
  natural: { family: natural, classes: 2, count: 24, seed: 21 }
  medical: { family: radiology, classes: 2, count: 24, seed: 22 }
folds: [1]
random_inits: [1, 2]
stages:
  source-data:
    uses: preprocess
    matrix: { source: $sources }
    params: { adapter: synthetic, family: "\${source.family}", classes: "\${source.classes}", count: "\${source.count}", synthetic_seed: "\${source.seed}", size: 32, folds: 2 }
  pretrain:
    uses: pretrain
    needs: [source-data]
    matrix: { source: $sources }
    params: { variant: resnet-micro, epochs: 1, batch: 12 }
  preprocess:
    uses: preprocess
    matrix: { dataset: $datasets }
    params: { adapter: synthetic, family: "\${dataset.family}", classes: "\${dataset.classes}", count: "\${dataset.count}", synthetic_seed: "\${dataset.seed}", size: 32, folds: 2 }
  finetune:
    uses: finetune
    needs: [preprocess, pretrain]
    matrix: { dataset: $datasets, source: [natural, medical, random], freeze: [false], fold: $folds }
    params: { fold: "\${fold}", freeze: "\${freeze}", variant: resnet-micro, epochs: 1, lr: 0.001, batch: 12 }
  extract-finetuned:
    uses: extract
    needs: [preprocess, finetune]
    matrix: { dataset: $datasets, source: [natural, medical], freeze: [false], fold: $folds }
    params: { fold: "\${fold}", maxPoints: 500 }
  extract-source:
    uses: extract
    needs: [preprocess, pretrain]
    matrix: { dataset: $datasets, source: $sources, fold: $folds }
    params: { fold: "\${fold}", maxPoints: 500 }
  extract-random:
    uses: extract
    needs: [preprocess]
    matrix: { dataset: $datasets, init: $random_inits, fold: $folds }
    params: { fold: "\${fold}", randomSeed: "\${init}", variant: resnet-micro, maxPoints: 500 }
  cca:
    uses: cca
    needs: [extract-finetuned, extract-source, extract-random]
    matrix: { dataset: $datasets, fold: $folds }
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical }, targetPoints: 200, channels: 4, repeats: 1 }
  predsim:
    uses: predsim
    needs: [finetune]
    matrix: { dataset: $datasets }
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical } }
  correlate-gain:
    uses: correlate-gain
    needs: [finetune, cca]
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical }, resamples: 20, grid: 5 }
  report:
    uses: report
    needs: [correlate-gain, cca, predsim, pretrain]
    params: { natural: natural, medical: medical, names: { natural: Natural, medical: Medical } }
`;

/** Instance id -> {output path -> digest}, from every run record of a cache. */
function manifest(cache: string): Map<string, Record<string, string>> {
  const m = new Map<string, Record<string, string>>();
  for (const f of readdirSync(join(cache, 'runs'))) {
    const r = JSON.parse(readFileSync(join(cache, 'runs', f), 'utf8')) as { id: string; kind: string; outputs: Record<string, { digest: string }> };
    m.set(r.id, Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.digest])));
  }
  return m;
}

test('every stage kind gives the same bytes when run from scratch into two caches', { timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dag-determinism-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pipeline.yaml'), PIPELINE);
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_TEST_CONTEXT;
  const run = (cache: string) =>
    collect(spawn(process.execPath, [DAG_BIN, 'run', '--cache', join(dir, cache), '--reporter', 'plain'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const first = run('a');
  await new Promise((r) => setTimeout(r, 1500)); // a different second for every HDF5 object time
  const [ra, rb] = await Promise.all([first, run('b')]);
  assert.equal(ra.code, 0, ra.stdout + ra.stderr);
  assert.equal(rb.code, 0, rb.stdout + rb.stderr);
  const a = manifest(join(dir, 'a'));
  const b = manifest(join(dir, 'b'));
  assert.equal(a.size, 18, [...a.keys()].join('\n'));
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  const kinds = new Set<string>();
  const differ: string[] = [];
  for (const [id, outs] of a) {
    kinds.add(id.replace(/\[.*$/, ''));
    for (const [path, d] of Object.entries(outs)) if (b.get(id)![path] !== d) differ.push(`${id} ${path}`);
    assert.deepEqual(Object.keys(b.get(id)!).sort(), Object.keys(outs).sort(), id);
  }
  assert.deepEqual(differ, [], 'outputs whose bytes differ between the two caches');
  assert.equal(kinds.size, 11, 'every stage ran');
  // No artifact names the cache it was written into (absolute paths would differ: a vs b).
  for (const [id, outs] of a) {
    for (const [path, d] of Object.entries(outs)) {
      if (!/\.(json|csv|md|html|txt)$/.test(path)) continue;
      const text = readFileSync(join(dir, 'a', 'objects', d.slice(0, 2), d.slice(2)), 'utf8');
      assert.ok(!text.includes(join(dir, 'a')), `${id} ${path} holds the cache path`);
    }
  }
});
