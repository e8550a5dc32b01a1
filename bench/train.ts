/**
 * Training throughput of the study's loop (src/ml/train): images/second through the
 * whole per-batch path — seeded augmentation in JS, caffe preprocessing, forward,
 * backward, Keras Adam update — for the demo variant and for ResNet50. Prints figures;
 * asserts nothing.
 *
 *   node --import tsx bench/train.ts [--backend wasm] [--threads 1] [--steps 4]
 *        [--only resnet-mini@32,resnet50@112]
 *
 * Each configuration runs one epoch of `warmup + steps` batches on generated images; the
 * first batch (`warmup`) is not timed. If a backend lacks a kernel for a configuration
 * the bench retries it on the pure-JS cpu backend and says so.
 */
import { loadTf, type BackendPreference } from '../src/ml/backend.ts';
import { finetune } from '../src/ml/train/finetune.ts';
import { squaresDataset } from '../src/ml/train/fixtures.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
}

const prefer = arg('backend', 'wasm') as BackendPreference;
const threads = Number(arg('threads', '1'));
const steps = Number(arg('steps', '4'));
const warmup = Number(arg('warmup', '1'));
const configs: { variant: string; size: number; batch: number }[] = arg('only', 'resnet-mini@32,resnet-mini@64,resnet50@112')
  .split(',')
  .map((s) => {
    const [variant, size] = s.split('@');
    const px = Number(size);
    return { variant: variant!, size: px, batch: Number(arg('batch', variant === 'resnet50' ? '8' : '32')) };
  });

const { tf, backend, info } = await loadTf({ prefer, threads });
console.log(`backend ${backend} (${JSON.stringify({ threads, tfjs: info.tfjsVersion })}); ${steps} timed batches after ${warmup} warm-up`);

async function measure(variant: string, size: number, batch: number): Promise<number> {
  const n = batch * (steps + warmup);
  const train = squaresDataset(n, size, 1);
  const val = squaresDataset(batch, size, 2);
  const stamps: number[] = [];
  await finetune(tf, {
    model: { variant, inputSize: size, classes: 2, init: { kind: 'random' } },
    train,
    val,
    params: { batchSize: batch, maxEpochs: 1, seed: 0 },
    onProgress: (p) => {
      if (p.unit === 'batch') stamps.push(performance.now());
    },
  });
  const timed = stamps.slice(warmup - 1);
  const seconds = (timed[timed.length - 1]! - timed[0]!) / 1000;
  return (batch * (timed.length - 1)) / seconds;
}

for (const c of configs) {
  const label = `${c.variant}@${c.size} batch ${c.batch}`;
  try {
    const ips = await measure(c.variant, c.size, c.batch);
    console.log(`${label}: ${ips.toFixed(2)} train images/s on ${tf.getBackend()}`);
  } catch (e) {
    console.log(`${label}: failed on ${tf.getBackend()} (${(e as Error).message.split('\n')[0]}); retrying on cpu`);
    const before = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      const ips = await measure(c.variant, c.size, c.batch);
      console.log(`${label}: ${ips.toFixed(2)} train images/s on cpu (fallback)`);
    } finally {
      await tf.setBackend(before);
    }
  }
}
console.log('baseline (issue): PyTorch CPU single-thread resnet50@112 training ~4.5 images/s; figures here are from a shared, busy machine (pessimistic)');
