import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { main } from '../src/cli/main.ts';
import { bufferOutput } from '../src/cli/output.ts';

async function run(argv: string[]): Promise<{ rc: number; out: string }> {
  const output = bufferOutput();
  const rc = await main(['data', ...argv], output);
  const { stdout, stderr } = output.text();
  return { rc, out: stdout + stderr };
}

test('dag data check prints counts and exits 0 on a good download, 1 with an unreadable image', async () => {
  const root = mkdtempSync(join(tmpdir(), 'data-check-'));
  for (const cls of ['NORMAL', 'PNEUMONIA']) {
    mkdirSync(join(root, 'train', cls), { recursive: true });
    for (let i = 0; i < 2; i++) {
      await sharp({ create: { width: 5, height: 4, channels: 3, background: '#808080' } }).jpeg().toFile(join(root, 'train', cls, `IM-000${i}-${cls}.jpeg`));
    }
  }
  const ok = await run(['check', '--adapter', 'chest', '--root', root, '--size', '8']);
  assert.equal(ok.rc, 0, ok.out);
  assert.match(ok.out, /images: 4 in 2 classes/);
  assert.match(ok.out, /PNEUMONIA\s+2/);
  assert.match(ok.out, /groups: 2/);
  assert.match(ok.out, /note: some images are smaller than --size 8/);
  assert.match(ok.out, /OK: no problems found/);
  writeFileSync(join(root, 'train', 'NORMAL', 'IM-0009-0001.jpeg'), 'not a jpeg');
  const bad = await run(['check', '--adapter', 'chest', '--root', root]);
  assert.equal(bad.rc, 1);
  assert.match(bad.out, /unreadable: 1/);
  assert.match(bad.out, /IM-0009-0001\.jpeg/);
});

test('dag data check reports adapter problems and usage errors', async () => {
  const missing = await run(['check', '--adapter', 'thyroid', '--root', '/nonexistent/ddti']);
  assert.equal(missing.rc, 1);
  assert.match(missing.out, /DATA_MISSING_DIR.*\/nonexistent\/ddti/);
  assert.equal((await run(['check', '--adapter', 'nope', '--root', '/tmp'])).rc, 2);
  assert.equal((await run(['frobnicate'])).rc, 2);
  const syn = await run(['check', '--adapter', 'synthetic', '--family', 'natural', '--classes', '3', '--count', '9']);
  assert.equal(syn.rc, 0, syn.out);
  assert.match(syn.out, /images: 9 in 3 classes/);
});

test('dag data check DATASET -f pipeline.yaml uses that data set\'s preprocess params', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'data-check-pl-'));
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'version: 1',
      'datasets:',
      '  shapes: { adapter: synthetic, family: radiology, classes: 3, count: 12, size: 16 }',
      'stages:',
      '  preprocess:',
      '    uses: preprocess',
      '    matrix: { dataset: $datasets }',
      '    params: { adapter: "${dataset.adapter}", family: "${dataset.family}", classes: "${dataset.classes}", count: "${dataset.count}", size: "${dataset.size}" }',
      '',
    ].join('\n'),
  );
  const ok = await run(['check', 'shapes', '-f', join(dir, 'pipeline.yaml')]);
  assert.equal(ok.rc, 0, ok.out);
  assert.match(ok.out, /images: 12 in 3 classes/);
  const other = await run(['check', 'knee', '-f', join(dir, 'pipeline.yaml')]);
  assert.equal(other.rc, 2);
  assert.match(other.out, /no preprocess instance with dataset=knee \(found: shapes\)/);
});
