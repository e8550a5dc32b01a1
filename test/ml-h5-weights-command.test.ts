/**
 * `dag weights check|ls`: exit status 0 when the file fits, 1 when it does not, 2 for bad
 * usage or an unreadable file; the report names missing, extra and mismatched layers
 * with both shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTf } from '../src/ml/backend.ts';
import { buildClassifier, buildResNet } from '../src/ml/resnet.ts';
import { saveKerasWeights } from '../src/ml/keras-h5.ts';
import { main } from '../src/cli/main.ts';
import { bufferOutput } from '../src/cli/output.ts';

const { tf } = await loadTf({ prefer: 'cpu' });
const dir = mkdtempSync(join(tmpdir(), 'dag-ml-wcmd-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const backbone = buildResNet(tf, { variant: 'resnet-micro', inputShape: [32, 32, 3], seed: 1 });
const notop = join(dir, 'micro-notop.h5');
await saveKerasWeights(backbone, notop);
const finetuned = join(dir, 'micro-ft.h5');
await saveKerasWeights(buildClassifier(tf, backbone, { classes: 2 }), finetuned, { layout: 'model' });

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const output = bufferOutput();
  const code = await main(['weights', ...argv], output);
  const { stdout, stderr } = output.text();
  return { code, out: stdout.trimEnd(), err: stderr.trimEnd() };
}

test('check: a fitting file exits 0 and reports every layer matched', async () => {
  const r = await run('check', notop, '--model', 'resnet-micro', '--input', '64');
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /matched {5}34/);
  assert.match(r.out, /missing {5}0/);
  assert.match(r.out, /conv1_relu 32x32/);
  assert.match(r.out, /fits resnet-micro: yes/);
});

test('check: a different variant exits 1 naming missing layers and both shapes', async () => {
  const r = await run('check', notop, '--model', 'resnet-mini');
  assert.equal(r.code, 1);
  assert.match(r.out, /missing {5}\d+: .*conv2_block2_1_conv/);
  assert.match(r.out, /conv1_conv\/kernel: expected \[7, 7, 3, 16\], found \[7, 7, 3, 8\]/);
  assert.match(r.out, /fits resnet-mini: NO/);
  const json = await run('check', notop, '--model=resnet-mini', '--json');
  assert.equal(json.code, 1);
  const parsed = JSON.parse(json.out);
  assert.equal(parsed.fits, false);
  assert.ok(parsed.mismatched.some((m: { layer: string }) => m.layer === 'conv1_conv'));
});

test('check: a fine-tuned checkpoint fits with --classes or --allow-extra, not without', async () => {
  const plain = await run('check', finetuned, '--model', 'resnet-micro');
  assert.equal(plain.code, 1);
  assert.match(plain.out, /extra {7}1: dense/);
  assert.match(plain.out, /nested: resnet-micro/);
  assert.equal((await run('check', finetuned, '--model', 'resnet-micro', '--classes', '2')).code, 0);
  assert.equal((await run('check', finetuned, '--model', 'resnet-micro', '--allow-extra')).code, 0);
  const wrongHead = await run('check', finetuned, '--model', 'resnet-micro', '--classes', '3');
  assert.equal(wrongHead.code, 1);
  assert.match(wrongHead.out, /dense\/kernel: expected \[256, 3\], found \[256, 1\]/);
});

test('ls lists layers with shapes; usage errors and unreadable files exit 2', async () => {
  const r = await run('ls', finetuned);
  assert.equal(r.code, 0);
  assert.match(r.out, /conv1_conv \(in resnet-micro\): kernel \[7, 7, 3, 8\], bias \[8\]/);
  assert.match(r.out, /dense: kernel \[256, 1\], bias \[1\]/);
  assert.equal((await run()).code, 2);
  assert.equal((await run('check')).code, 2);
  assert.equal((await run('check', notop, '--input', 'abc')).code, 2);
  const unknown = await run('check', notop, '--model', 'resnet51');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /known variants: .*resnet50/);
  assert.equal((await run('check', join(dir, 'absent.h5'))).code, 2);
  const junk = join(dir, 'junk.h5');
  writeFileSync(junk, 'not hdf5');
  const bad = await run('ls', junk);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /ML_H5_UNREADABLE/);
});
