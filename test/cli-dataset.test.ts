/**
 * A folder data set in one entry: the default pipeline.yaml, copied verbatim, plus the one
 * line the README gives (`derm: { adapter: folder, root: data/derm }`), with real PNG files
 * generated in a temp dir. Through the real CLI: the plan grows by the derm instances with no
 * config error and every other instance unchanged; the derm preprocess runs on the folder;
 * `dag data check derm` passes for a big enough set and, for a too small one, it and
 * `dag status` name the numbers the CCA stage would fail on (held-out images per fold, points, channels).
 * (The full derm run through fine-tuning, CCA and the report takes minutes; it was run by
 * hand, see the README.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { askOf, layerGrid, sizeProblems } from '../src/study/size-check.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DAG = join(ROOT, 'bin', 'dag.js');

async function folderDataset(dir: string, perClass: number): Promise<void> {
  for (const [ci, c] of ['benign', 'melanoma'].entries()) {
    mkdirSync(join(dir, c), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(40 * 40 * 3);
      for (let j = 0; j < px.length; j++) px[j] = (j * (7 + i) + ci * 90 + (j % 3) * 40) & 255;
      await sharp(px, { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(join(dir, c, `img${i}.png`));
    }
  }
}

function dag(dir: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [DAG, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the default pipeline plus one datasets entry runs a folder data set; data check names what is too small', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dag-derm-'));
  try {
    copyFileSync(join(ROOT, 'pipeline.yaml'), join(dir, 'pipeline.yaml'));
    const before = dag(dir, 'status', '--json');
    assert.equal(before.code, 0, before.err);
    const baseIds = before.out.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);

    // The README's one-line edit.
    const yaml = readFileSync(join(dir, 'pipeline.yaml'), 'utf8');
    const edited = yaml.replace(/^(datasets:\n)/m, '$1  derm: { adapter: folder, root: data/derm }\n');
    assert.notEqual(edited, yaml);
    writeFileSync(join(dir, 'pipeline.yaml'), edited);
    await folderDataset(join(dir, 'data', 'derm'), 30);

    const after = dag(dir, 'status', '--json');
    assert.equal(after.code, 0, after.err);
    assert.ok(!/error/i.test(after.err), after.err);
    const rows = after.out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; kind: string });
    const added = rows.filter((r) => !baseIds.includes(r.id));
    assert.ok(added.length >= 40 && added.every((r) => r.id.includes('dataset=derm')), `derm adds its own instances (${added.length})`);
    for (const stage of ['preprocess', 'finetune', 'extract-finetuned', 'cca', 'predsim']) {
      assert.ok(added.some((r) => r.id.startsWith(`${stage}[`)), `a derm ${stage} instance`);
    }

    let r = dag(dir, 'data', 'check', 'derm');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /images: 60 in 2 classes/);
    r = dag(dir, 'status');
    assert.ok(!/warnings before running/.test(r.out), 'big enough: no warning');
    r = dag(dir, 'run', 'preprocess[dataset=derm]', '--reporter', 'plain');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /done\s+preprocess\[dataset=derm\]/);
    r = dag(dir, 'cat', 'preprocess[dataset=derm]', 'manifest.json');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /"adapter": "folder"/);

    // Too small: 4 per class -> held-out folds of 2 images; block4 at 32 px is 1 x 1.
    rmSync(join(dir, 'data', 'derm'), { recursive: true });
    await folderDataset(join(dir, 'data', 'derm'), 4);
    r = dag(dir, 'data', 'check', 'derm');
    assert.equal(r.code, 1);
    assert.match(r.out, /cca\[dataset=derm,fold=1\]: CCA at block4 \(1 x 1 positions at 32 x 32 px\) gets 2 data points from a held-out fold of 2 images \(8 images \/ 3 folds\) for 16 channels; .*at least 17 images per fold, about 51 in all/);
    // dag status warns too, before anything runs.
    r = dag(dir, 'status');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /warnings before running \(1\):\n\s+preprocess\[dataset=derm\]: cca\[dataset=derm,fold=1\]: CCA at block4 .*held-out fold of 2 images/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('size check: classes per fold, CCA points per layer', () => {
  assert.deepEqual(layerGrid([32, 32]).block4, [1, 1]);
  assert.deepEqual(layerGrid([112, 112]).conv1, [56, 56]);
  assert.deepEqual(layerGrid([224, 224]).block4, [7, 7]);
  const ask = { dataset: 'd', folds: 5, size: [32, 32] as [number, number], cca: [{ id: 'cca[dataset=d,fold=1]', targetPoints: 1000, channels: 16, maxPoints: 4000 }] };
  assert.deepEqual(sizeProblems({ a: 100, b: 100 }, ask), []);
  const p = sizeProblems({ a: 3, b: 40 }, ask);
  assert.match(p[0]!.message, /class 'a' has 3 images for 5 folds/);
  assert.equal(p[0]!.fatal, false, 'a fold without a class still runs: a warning');
  assert.match(p[1]!.message, /held-out fold of 8 images \(43 images \/ 5 folds\) for 16 channels/);
  assert.equal(p[1]!.fatal, true, 'the cca stage would fail: a problem');
  // A cap that no data set can lift: targetPoints too low for the channels.
  assert.match(sizeProblems({ a: 1000, b: 1000 }, { ...ask, cca: [{ ...ask.cca[0]!, targetPoints: 10 }] })[0]!.message, /CCA at conv1 .* draws at most 0 data points \(targetPoints 10, maxPoints 4000\) .* raise targetPoints/);
  const instances = new Map([
    ['pre', { id: 'pre', kind: 'preprocess', params: { folds: 3 }, deps: [] }],
    ['ex', { id: 'ex', kind: 'extract', params: { maxPoints: 500 }, deps: ['pre'] }],
    ['other', { id: 'other', kind: 'extract', params: { maxPoints: 100 }, deps: [] }],
    ['c', { id: 'c', kind: 'cca', params: { channels: 8 }, deps: ['ex', 'other'] }],
  ]);
  assert.deepEqual(askOf(instances, 'pre', 'd', [32, 32]), { dataset: 'd', folds: 3, size: [32, 32], cca: [{ id: 'c', targetPoints: 10000, channels: 8, maxPoints: 500 }] });
});
