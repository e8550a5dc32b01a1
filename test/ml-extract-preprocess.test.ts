/**
 * preprocess_input modes on known pixels (Keras' caffe: RGB -> BGR minus the ImageNet
 * BGR means, float32), grayscale replication, and the Figure 4 filter grid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../src/ml/backend.ts';
import { parsePreprocessMode, PREPROCESS_MODES, PreprocessError, preprocessInput, preprocessPixels } from '../src/ml/preprocess-input.ts';
import { filterGrid, type ConvKernel } from '../src/ml/filters.ts';

const { tf } = await loadTf({ prefer: 'cpu' });
const f = Math.fround;

test('caffe mode: one known pixel becomes BGR minus [103.939, 116.779, 123.68]', () => {
  const px = { data: new Uint8Array([10, 200, 255]), shape: [1, 1, 1, 3] as const };
  const out = preprocessInput(tf, px, 'caffe');
  assert.deepEqual(out.shape, [1, 1, 1, 3]);
  assert.deepEqual(Array.from(out.dataSync()), [f(255 - f(103.939)), f(200 - f(116.779)), f(10 - f(123.68))]);
  out.dispose();
  assert.deepEqual(Array.from(preprocessPixels(px, 'caffe')), [f(255 - f(103.939)), f(200 - f(116.779)), f(10 - f(123.68))]);
  // Default mode is caffe; a uint8 tensor input gives the same numbers.
  const t = tf.tensor4d([10, 200, 255], [1, 1, 1, 3], 'int32');
  const out2 = preprocessInput(tf, t);
  assert.deepEqual(Array.from(out2.dataSync()), Array.from(preprocessPixels(px)));
  t.dispose();
  out2.dispose();
});

test('unit, radimagenet, tf and torch modes; tensor and array paths agree bit for bit', () => {
  const data = Uint8Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => (i * 37) % 256);
  const batch = { data, shape: [2, 3, 2, 3] as const };
  for (const mode of PREPROCESS_MODES) {
    const t = preprocessInput(tf, batch, mode);
    assert.deepEqual(Array.from(t.dataSync()), Array.from(preprocessPixels(batch, mode)), mode);
    t.dispose();
  }
  const px = { data: new Uint8Array([0, 51, 255]), shape: [1, 1, 1, 3] as const };
  assert.deepEqual(Array.from(preprocessPixels(px, 'unit')), [0, f(0.2), 1]);
  assert.deepEqual(Array.from(preprocessPixels(px, 'tf')), [-1, f(f(51 / 127.5) - 1), 1]);
  assert.deepEqual(Array.from(preprocessPixels(px, 'radimagenet')), [f(f(255 - f(103.939)) / 255), f(f(51 - f(116.779)) / 255), f(f(0 - f(123.68)) / 255)]);
  assert.equal(preprocessPixels(px, 'torch')[0], f(f(0 - f(0.485)) / f(0.229)));
});

test('grayscale input is replicated to 3 channels; bad shapes and modes are typed errors', () => {
  const gray = { data: new Uint8Array([100, 50]), shape: [1, 1, 2, 1] as const };
  const t = preprocessInput(tf, gray, 'caffe');
  assert.deepEqual(t.shape, [1, 1, 2, 3]);
  const v = Array.from(t.dataSync());
  assert.deepEqual(v, [f(100 - f(103.939)), f(100 - f(116.779)), f(100 - f(123.68)), f(50 - f(103.939)), f(50 - f(116.779)), f(50 - f(123.68))]);
  t.dispose();
  assert.throws(() => preprocessInput(tf, { data: new Uint8Array(8), shape: [1, 2, 2, 2] }), PreprocessError);
  assert.throws(() => preprocessPixels({ data: new Uint8Array(5), shape: [1, 1, 2, 3] }), /needs 6/);
  assert.equal(parsePreprocessMode('caffe'), 'caffe');
  assert.throws(() => parsePreprocessMode('imagenet'), (e: unknown) => e instanceof PreprocessError && /caffe/.test(e.message));
});

test('filter grid: first 36 filters, input channel 0, global min-max over the whole kernel', () => {
  // Kernel [2, 2, 3, 40]: value encodes (i, j, channel, filter); channel 2 holds the extremes.
  const shape: ConvKernel['shape'] = [2, 2, 3, 40];
  const data = new Float32Array(2 * 2 * 3 * 40);
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 2; j++)
      for (let c = 0; c < 3; c++)
        for (let o = 0; o < 40; o++) data[((i * 2 + j) * 3 + c) * 40 + o] = c === 2 ? (o === 39 ? 10 : -10) : o / 10;
  const img = filterGrid({ data, shape }, { scale: 1, gap: 1 });
  assert.equal(img.width, 6 * 2 + 5);
  assert.equal(img.height, 6 * 2 + 5);
  // Filter 0, channel 0 is 0 -> (0 - -10) / 20 * 255 = 127.5 -> 128; filter 35 is 3.5 -> 172.
  assert.equal(img.data[0], 128);
  const x35 = 5 * 3;
  const y35 = 5 * 3;
  assert.equal(img.data[y35 * img.width + x35], Math.round(((3.5 + 10) / 20) * 255));
  assert.equal(img.data[2], 255); // the gap column is white
  assert.throws(() => filterGrid({ data, shape }, { channel: 3 }), /3 input channels/);
});
