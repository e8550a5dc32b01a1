/**
 * Speed of the TensorFlow.js runtime on the study's network: images/second for
 * inference and for one training step (forward + backward + Adam update), plus
 * per-kernel timings of the convolution gradients. Prints figures; asserts nothing.
 *
 *   node --import tsx bench/resnet.ts [--variant resnet50] [--size 112] [--batch 8]
 *        [--steps 5] [--warmup 2] [--threads 1] [--backend auto] [--kernels-only] [--no-kernels]
 *        [--optimizer keras|keras-unfused|tfjs] [--profile]
 *
 * The training step is the one finetune runs: `tf.variableGrads` + KerasAdam
 * (src/ml/train/adam.ts); `--optimizer tfjs` uses tfjs' `train.adam().minimize`
 * instead (what this bench measured before). `--profile` also prints where a step's
 * time goes: milliseconds per kernel name and phase (forward, backward, Adam),
 * averaged over the timed steps, and the time outside kernels.
 *
 * `--optimizer keras-unfused` forces KerasAdam's op-by-op update (the "before" of the
 * fused kernels). On `--backend webgpu` it also counts the compute dispatches of one
 * training step (every dispatch Dawn records: tfjs' programs and ours) split into
 * forward / backward / adam, and times those phases with GPU timestamps where the
 * adapter has `timestamp-query` (beside the JavaScript time spent enqueueing them).
 *
 * Medians over `--steps` timed runs after `--warmup` untimed ones.
 */
import { loadTf, type BackendPreference, type Tf } from '../src/ml/backend.ts';
import { buildResNet } from '../src/ml/resnet.ts';
import { KerasAdam } from '../src/ml/train/adam.ts';
import { DispatchCounter, GpuTimestamps } from './gpu-timing.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v ?? fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const variant = arg('variant', 'resnet50');
const size = Number(arg('size', '112'));
const batch = Number(arg('batch', '8'));
const steps = Number(arg('steps', '5'));
const warmup = Number(arg('warmup', '2'));
const threads = Number(arg('threads', '1'));
const prefer = arg('backend', 'auto') as BackendPreference;
const optimizerKind = arg('optimizer', 'keras');
const profile = flag('profile');

/** Per-step kernel timings by "phase kernel" (filled only with --profile). */
const kernelMs = new Map<string, { n: number; ms: number }>();
let phase = 'other';

/** Wraps every kernel of the active backend with a wall-clock timer (kernels run synchronously on wasm/cpu). */
function instrumentKernels(tf: Tf): void {
  for (const k of tf.getKernelsForBackend(tf.getBackend())) {
    const inner = k.kernelFunc as (a: unknown) => unknown;
    tf.unregisterKernel(k.kernelName, k.backendName);
    tf.registerKernel({
      ...k,
      kernelFunc: ((a: unknown) => {
        const t0 = performance.now();
        const out = inner(a);
        const key = `${phase} ${k.kernelName}`;
        const s = kernelMs.get(key) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += performance.now() - t0;
        kernelMs.set(key, s);
        return out;
      }) as typeof k.kernelFunc,
    });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Median milliseconds of `fn` (which must return tensors to read back and dispose). */
async function timeIt(tf: Tf, fn: () => unknown, reps: number, warm: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warm + reps; i++) {
    const t0 = performance.now();
    const out = fn();
    const ts = (Array.isArray(out) ? out : [out]) as import('@tensorflow/tfjs').Tensor[];
    for (const t of ts) await t.data();
    const dt = performance.now() - t0;
    tf.dispose(ts);
    if (i >= warm) times.push(dt);
  }
  return median(times);
}

async function kernels(tf: Tf): Promise<void> {
  const cases: { name: string; x: [number, number, number, number]; w: [number, number, number, number]; s: number; pad: 'same' | 'valid' }[] = [
    { name: '3x3 s1 64->64 @56 (issue case)', x: [batch, 56, 56, 64], w: [3, 3, 64, 64], s: 1, pad: 'same' },
    { name: '7x7 s2 3->64 @112 (stem)', x: [batch, 112, 112, 3], w: [7, 7, 3, 64], s: 2, pad: 'same' },
    { name: '1x1 s1 64->256 @28', x: [batch, 28, 28, 64], w: [1, 1, 64, 256], s: 1, pad: 'valid' },
    { name: '1x1 s2 256->128 @28', x: [batch, 28, 28, 256], w: [1, 1, 256, 128], s: 2, pad: 'valid' },
  ];
  console.log('\nper-kernel medians (ms):');
  for (const c of cases) {
    const x = tf.randomNormal(c.x) as import('@tensorflow/tfjs').Tensor4D;
    const w = tf.randomNormal(c.w) as import('@tensorflow/tfjs').Tensor4D;
    const y = tf.conv2d(x, w, c.s, c.pad);
    const dy = tf.randomNormal(y.shape) as import('@tensorflow/tfjs').Tensor4D;
    const fwd = await timeIt(tf, () => tf.conv2d(x, w, c.s, c.pad), steps, warmup);
    const bi = await timeIt(tf, () => tf.conv2dTranspose(dy, w, c.x, c.s, c.pad), steps, warmup);
    const bfShape = c.w;
    const bf = await timeIt(
      tf,
      () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: bfShape }),
      steps,
      warmup,
    );
    console.log(`  ${c.name.padEnd(32)} forward ${fwd.toFixed(1).padStart(7)}  backprop-input ${bi.toFixed(1).padStart(7)}  backprop-filter ${bf.toFixed(1).padStart(7)}`);
    tf.dispose([x, w, y, dy]);
  }
}

async function network(tf: Tf): Promise<void> {
  const model = buildResNet(tf, { variant, inputShape: [size, size, 3], seed: 1 });
  const head = tf.layers.dense({ units: 1, kernelInitializer: 'zeros' });
  const headVars = (() => {
    head.build([null, model.outputs[0]!.shape[1]!]);
    return head.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable);
  })();
  const x = tf.randomNormal([batch, size, size, 3]);
  const labels = tf.tensor2d(Array.from({ length: batch }, (_, i) => i % 2), [batch, 1]);
  const infer = await timeIt(tf, () => model.predict(x, { batchSize: batch }), steps, warmup);
  console.log(`\n${variant}@${size} batch ${batch}: inference ${(batch / (infer / 1000)).toFixed(2)} images/s (${infer.toFixed(0)} ms/batch)`);
  const vars = [...model.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable), ...headVars];
  const lossOf = (): import('@tensorflow/tfjs').Scalar => {
    const feats = model.apply(x, { training: true }) as import('@tensorflow/tfjs').Tensor;
    const p = head.apply(feats) as import('@tensorflow/tfjs').Tensor;
    const loss = tf.losses.sigmoidCrossEntropy(labels, p) as import('@tensorflow/tfjs').Scalar;
    phase = 'backward';
    onPhase('backward');
    return loss;
  };
  const tfjsAdam = tf.train.adam(1e-4);
  const kerasAdam = new KerasAdam(tf, vars, { lr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, { fused: optimizerKind !== 'keras-unfused' });
  const step = (): import('@tensorflow/tfjs').Tensor => {
    phase = 'forward';
    onPhase('forward');
    let loss: import('@tensorflow/tfjs').Tensor;
    if (optimizerKind === 'tfjs') {
      loss = tfjsAdam.minimize(lossOf, true, vars) ?? tf.scalar(0);
    } else {
      // What finetune's trainStep does: gradients of the explicit variable list, then KerasAdam.
      const { value, grads } = tf.variableGrads(lossOf, vars);
      phase = 'adam';
      onPhase('adam');
      kerasAdam.apply(vars.map((v) => grads[v.name] ?? null));
      tf.dispose(Object.values(grads));
      loss = value;
    }
    phase = 'other';
    onPhase('end');
    return loss;
  };
  const reps = Math.max(3, Math.ceil(steps / 2));
  const warm = Math.min(warmup, 1);
  let wallInKernels = 0;
  if (profile) {
    // One untimed step first so that the counters below cover exactly `reps` steps.
    for (let i = 0; i < warm; i++) tf.dispose(step());
    instrumentKernels(tf);
  }
  const train = await timeIt(tf, step, reps, profile ? 0 : warm);
  console.log(
    `${variant}@${size} batch ${batch}: training ${(batch / (train / 1000)).toFixed(2)} images/s (${train.toFixed(0)} ms/step, forward+backward+Adam, optimizer ${optimizerKind})`,
  );
  if (profile) {
    const rows = [...kernelMs.entries()].map(([k, s]) => ({ k, n: s.n / reps, ms: s.ms / reps })).sort((a, b) => b.ms - a.ms);
    const byPhase = new Map<string, number>();
    for (const r of rows) {
      const ph = r.k.split(' ')[0]!;
      byPhase.set(ph, (byPhase.get(ph) ?? 0) + r.ms);
      wallInKernels += r.ms;
    }
    console.log(`\nper step (mean of ${reps}): kernels ${wallInKernels.toFixed(0)} ms (${[...byPhase].map(([p, ms]) => `${p} ${ms.toFixed(0)}`).join(', ')}); median step ${train.toFixed(0)} ms`);
    for (const r of rows.slice(0, 25)) console.log(`  ${r.k.padEnd(36)} ${r.n.toFixed(0).padStart(5)} calls ${r.ms.toFixed(0).padStart(6)} ms`);
  }
  const dispatches = tf.getBackend() === 'webgpu' ? await webgpuStep(tf, step, reps) : null;
  // One machine-readable line (scripts/gpu-kit-run.sh puts it beside PyTorch's).
  console.log(
    `summary backend=${tf.getBackend()} variant=${variant} size=${size} batch=${batch} infer_ips=${(batch / (infer / 1000)).toFixed(1)} train_ips=${(batch / (train / 1000)).toFixed(1)} dispatches=${dispatches === null ? '-' : dispatches.toFixed(0)} optimizer=${optimizerKind}`,
  );
  kerasAdam.dispose();
  tf.dispose([x, labels]);
}

/** Phase-boundary hook of the training step (set while measuring on webgpu). */
let onPhase: (p: string) => void = () => {};

/**
 * Webgpu only: dispatches per training step by phase (mean of `reps` steps), and the
 * phases' GPU time (timestamps) beside the JavaScript time spent issuing them.
 */
async function webgpuStep(tf: Tf, step: () => import('@tensorflow/tfjs').Tensor, reps: number): Promise<number> {
  const counter = new DispatchCounter(() => phase);
  const stamps = GpuTimestamps.create(tf);
  const gpuMs = new Map<string, number>();
  const jsMs = new Map<string, number>();
  let last = 0;
  let lastPhase = '';
  onPhase = (p) => {
    const now = performance.now();
    if (lastPhase !== '') jsMs.set(lastPhase, (jsMs.get(lastPhase) ?? 0) + now - last);
    last = now;
    lastPhase = p;
    stamps?.mark(p);
  };
  counter.install();
  try {
    for (let i = 0; i < reps; i++) {
      lastPhase = '';
      const loss = step();
      await loss.data();
      loss.dispose();
      if (stamps) for (const [label, ms] of await stamps.read()) gpuMs.set(label, (gpuMs.get(label) ?? 0) + ms);
    }
  } finally {
    counter.uninstall();
    onPhase = () => {};
  }
  // A stamp labelled with the phase that ENDS at it: 'backward' closes the forward phase.
  const ended: Record<string, string> = { backward: 'forward', adam: 'backward', end: 'adam' };
  const per = (n: number): string => (n / reps).toFixed(0);
  const d = counter.byPhase;
  console.log(
    `\nwebgpu dispatches per training step (mean of ${reps}): ${per(counter.total())} (forward ${per(d.get('forward') ?? 0)}, backward ${per(d.get('backward') ?? 0)}, adam ${per(d.get('adam') ?? 0)}${d.get('other') ? `, other ${per(d.get('other')!)}` : ''}), optimizer ${optimizerKind}`,
  );
  const fmt = (m: Map<string, number>, key: (p: string) => string): string =>
    ['forward', 'backward', 'adam'].map((p) => `${p} ${((m.get(key(p)) ?? 0) / reps).toFixed(1)} ms`).join(', ');
  console.log(`step split, JavaScript issuing the work: ${fmt(jsMs, (p) => p)}`);
  if (stamps) {
    const byPhase = new Map<string, number>();
    for (const [label, ms] of gpuMs) if (ended[label]) byPhase.set(ended[label]!, ms);
    console.log(`step split, GPU timestamps: ${fmt(byPhase, (p) => p)}`);
  } else {
    console.log('step split, GPU timestamps: n/a (the adapter has no timestamp-query)');
  }
  return counter.total() / reps;
}

const rt = await loadTf({ prefer, threads });
const { tf } = rt;
console.log(
  `backend ${rt.backend} (${rt.info.backendVersion}), tfjs ${rt.info.tfjsVersion}, wasm simd ${String(rt.info.wasmSimd)}, threads ${String(rt.info.wasmThreads)}, node ${process.version}`,
);
if (!flag('no-kernels')) await kernels(tf);
if (!flag('kernels-only')) await network(tf);
process.exit(0); // Dawn's instance would keep the event loop alive
