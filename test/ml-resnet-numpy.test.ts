/**
 * The tfjs ResNet against an independent numpy forward pass of the Keras definition
 * (explicit zero padding, 'valid'/'same' convs with bias, BN with epsilon 1.001e-5 and
 * moving statistics, max pool, residual add). Catches a wrong stride, padding, epsilon
 * or layer wiring that names and shapes alone would not. Skipped when python3 with
 * numpy is not available.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { loadTf } from '../src/ml/backend.ts';
import { readNpy, writeNpy } from '../src/data/npy.ts';
import { buildResNet, comparedLayers, layerPlan } from '../src/ml/resnet.ts';
import { preprocessInput } from '../src/ml/preprocess-input.ts';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

// The reference: weights by Keras layer name, the architecture written out from the spec.
const SCRIPT = String.raw`
import json, sys, os
import numpy as np
d = sys.argv[1]
spec = json.load(open(os.path.join(d, 'spec.json')))
W = lambda layer, w: np.load(os.path.join(d, 'w', f'{layer}__{w}.npy')).astype(np.float64)
def pad(x, p): return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
def conv(x, layer, stride, same):
    k, b = W(layer, 'kernel'), W(layer, 'bias')
    kh = k.shape[0]
    if same: x = pad(x, kh // 2)
    n, h, w, c = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kh) // stride + 1
    out = np.zeros((n, oh, ow, k.shape[3]))
    for i in range(kh):
        for j in range(kh):
            patch = x[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride, :]
            out += patch @ k[i, j]
    return out + b
def bn(x, layer):
    g, be, m, v = (W(layer, n) for n in ('gamma', 'beta', 'moving_mean', 'moving_variance'))
    return (x - m) / np.sqrt(v + 1.001e-5) * g + be
relu = lambda x: np.maximum(x, 0)
def maxpool(x):
    n, h, w, c = x.shape
    oh, ow = (h - 3) // 2 + 1, (w - 3) // 2 + 1
    out = np.full((n, oh, ow, c), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, x[:, i:i + 2 * (oh - 1) + 1:2, j:j + 2 * (ow - 1) + 1:2, :])
    return out
x = np.load(os.path.join(d, 'x.npy')).astype(np.float64)
acts = {}
x = relu(bn(conv(pad(x, 3), 'conv1_conv', 2, False), 'conv1_bn')); acts['conv1_relu'] = x
x = maxpool(pad(x, 1))
for s, nb in enumerate(spec['blocks']):
    for b in range(1, nb + 1):
        p = f'conv{s + 2}_block{b}'
        stride = (1 if s == 0 else 2) if b == 1 else 1
        sc = bn(conv(x, p + '_0_conv', stride, False), p + '_0_bn') if b == 1 else x
        y = relu(bn(conv(x, p + '_1_conv', stride, False), p + '_1_bn'))
        y = relu(bn(conv(y, p + '_2_conv', 1, True), p + '_2_bn'))
        y = bn(conv(y, p + '_3_conv', 1, False), p + '_3_bn')
        x = relu(sc + y); acts[p + '_out'] = x
acts['avg_pool'] = x.mean(axis=(1, 2))
for name in spec['layers']:
    np.save(os.path.join(d, 'ref_' + name + '.npy'), acts[name].astype(np.float32))
`;

test('resnet-mini forward pass equals a numpy implementation of the Keras definition', { skip: !hasNumpy && 'python3 with numpy not available' }, async () => {
  const { tf } = await loadTf({ prefer: 'cpu' });
  const dir = mkdtempSync(join(tmpdir(), 'dag-ml-numpy-'));
  try {
    // 35x35 exercises odd sizes (floor arithmetic of strides and paddings).
    const model = buildResNet(tf, { variant: 'resnet-mini', inputShape: [35, 35, 3], seed: 21 });
    // Random BN parameters and statistics so the BN formula and epsilon matter.
    model.weights.forEach((v, i) => {
      if (/gamma|beta|moving_mean|moving_variance|bias/.test(v.name)) {
        const lo = /variance|gamma/.test(v.name) ? 0.5 : -0.5;
        const t = tf.randomUniform(v.shape as number[], lo, lo + 1, 'float32', 100 + i);
        v.write(t);
        t.dispose();
      }
    });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'w'));
    for (const lp of layerPlan('resnet-mini')) {
      const ws = model.getLayer(lp.name).getWeights();
      lp.weights.forEach((w, i) => writeNpy(join(dir, 'w', `${lp.name}__${w.name}.npy`), ws[i]!.dataSync() as Float32Array, ws[i]!.shape));
    }
    const images = { data: Uint8Array.from({ length: 2 * 35 * 35 * 3 }, (_, i) => (i * 131) % 256), shape: [2, 35, 35, 3] as const };
    const x = preprocessInput(tf, images);
    writeNpy(join(dir, 'x.npy'), x.dataSync() as Float32Array, x.shape);
    const layers = [...Object.values(comparedLayers('resnet-mini')), 'avg_pool'];
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ blocks: [2, 2, 2, 2], layers }));
    writeFileSync(join(dir, 'ref.py'), SCRIPT);
    const py = spawnSync('python3', [join(dir, 'ref.py'), dir], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);

    const sub = tf.model({ inputs: model.inputs, outputs: layers.map((l) => model.getLayer(l).output as never) });
    const outs = sub.predict(x) as Tensor[];
    layers.forEach((l, i) => {
      const ref = readNpy(join(dir, `ref_${l}.npy`));
      assert.deepEqual(outs[i]!.shape, ref.shape, l);
      const got = outs[i]!.dataSync();
      let maxAbs = 0;
      let maxRef = 0;
      for (let k = 0; k < got.length; k++) {
        maxAbs = Math.max(maxAbs, Math.abs(got[k]! - (ref.data[k] as number)));
        maxRef = Math.max(maxRef, Math.abs(ref.data[k] as number));
      }
      assert.ok(maxAbs <= 1e-4 * Math.max(1, maxRef), `${l}: max |diff| ${maxAbs} (max |ref| ${maxRef})`);
    });
    tf.dispose([x, ...outs]);
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
