/**
 * The paper's published split files as a pipeline uses them (pipelines/paper.yaml's default):
 * through the real CLI, `dag status` names each missing val_fold{k}.csv and counts the
 * instance as missing input; once the files are there, the folds (and the subset: images in
 * no split file are left out, as PCam-small's 10,000) are the split files' row for row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DAG = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dag.js');

function dag(dir: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [DAG, ...args, '-f', join(dir, 'pipeline.yaml')], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('split files: status names each missing one; the folds and the subset come from them', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dag-paper-splits-'));
  try {
    const sharp = (await import('sharp')).default;
    for (const c of ['benign', 'malignant']) {
      mkdirSync(join(dir, 'data', 'set', c), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const v = c === 'benign' ? 40 + i : 200 - i;
        await sharp({ create: { width: 10, height: 10, channels: 3, background: { r: v, g: v, b: v } } }).png().toFile(join(dir, 'data', 'set', c, `${c[0]}${i}.png`));
      }
    }
    const splits = join(dir, 'data', 'splits', 'set');
    mkdirSync(splits, { recursive: true });
    const row = (k: number, f: string, cls: string) => `${k},${k},../../../data/set/${cls}/${f}.png,${cls}`;
    // Fold 1 = val_fold1 + test_fold1 (the paper-era held-out fold); fold 2 = val_fold2; b5 and m5 are in no file.
    writeFileSync(join(splits, 'val_fold1.csv'), [',pid,path,class', row(0, 'b0', 'benign'), row(1, 'm0', 'malignant')].join('\n') + '\n');
    writeFileSync(join(splits, 'test_fold1.csv'), [',pid,path,class', row(2, 'b1', 'benign'), row(3, 'm1', 'malignant')].join('\n') + '\n');
    writeFileSync(
      join(dir, 'pipeline.yaml'),
      `version: 1
cache: cache
datasets:
  set: { root: data/set, splits: data/splits/set }
stages:
  preprocess:
    uses: preprocess
    matrix: { dataset: $datasets }
    params: { adapter: folder, root: "\${dataset.root}", splits: "\${dataset.splits}", size: 8, folds: 3 }
`,
    );
    const before = dag(dir, 'status');
    assert.match(before.out, /data\/splits\/set\/val_fold2\.csv does not exist \(the held-out rows of fold 2 of 3, a split file of param 'splits'\)/);
    assert.match(before.out, /val_fold3\.csv does not exist/);
    assert.doesNotMatch(before.out, /val_fold1\.csv does not exist/);
    assert.match(before.out, /0 never run, 1 missing input/);

    writeFileSync(join(splits, 'val_fold2.csv'), [',pid,path,class', row(4, 'b2', 'benign'), row(5, 'b3', 'benign'), row(6, 'm2', 'malignant')].join('\n') + '\n');
    writeFileSync(join(splits, 'val_fold3.csv'), [',pid,path,class', row(7, 'b4', 'benign'), row(8, 'm3', 'malignant'), row(9, 'm4', 'malignant')].join('\n') + '\n');
    const run = dag(dir, 'run', '--reporter', 'plain');
    assert.equal(run.status, 0, run.out);
    const index = dag(dir, 'cat', 'preprocess[dataset=set]', 'index.csv');
    const rows = index.out.trim().split('\n').filter((l) => l.includes('.png')).map((l) => l.split(','));
    const header = index.out.trim().split('\n')[0]!.split(',');
    const fold = Object.fromEntries(rows.map((r) => [r[header.indexOf('path')]!.replace(/^.*\//, ''), Number(r[header.indexOf('fold')])]));
    assert.deepEqual(fold, { 'b0.png': 1, 'm0.png': 1, 'b1.png': 1, 'm1.png': 1, 'b2.png': 2, 'b3.png': 2, 'm2.png': 2, 'b4.png': 3, 'm3.png': 3, 'm4.png': 3 }, 'every image in the fold its split file gives, b5 and m5 (in no split file) left out');
    const manifest = JSON.parse(dag(dir, 'cat', 'preprocess[dataset=set]', 'manifest.json').out.trim().split('\n').filter((l) => l.trim()).join('\n'));
    assert.equal(manifest.foldSource, 'splits');
    assert.deepEqual(manifest.foldCounts, [4, 3, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
