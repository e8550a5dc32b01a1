/**
 * GPU dispatches per ResNet training step on tfjs' webgpu backend, with tfjs' own
 * kernels and with this project's (src/ml/webgpu: BatchNorm, convolutions), each in
 * its own process, side by side. Dispatch counts do not depend on the adapter, so
 * this runs on llvmpipe (`bash scripts/setup.sh`); its timings are not GPU timings.
 *
 *   node --import tsx bench/webgpu-dispatches.ts [--variant resnet50] [--size 64] [--batch 2]
 *
 * The step is the fine-tune loop's (src/ml/train/finetune.ts): backbone in training
 * mode, dropout, Dense head, cross-entropy, `tf.variableGrads`, then KerasAdam.
 * `--only tfjs|ours` runs one configuration and prints its figures as JSON.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', default: 'resnet50' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '2' },
    only: { type: 'string' },
  },
});

interface Figures {
  kernels: 'tfjs' | 'ours';
  forwardBackward: number;
  optimizer: number;
  top: [string, number][];
  stepMs: number;
}

async function measure(kernels: 'tfjs' | 'ours'): Promise<Figures> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  if ((await gpu.requestAdapter()) === null) throw new Error('no WebGPU adapter; run `bash scripts/setup.sh`');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const tf = (await import('@tensorflow/tfjs')) as unknown as import('../src/ml/backend.ts').Tf;
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  if (kernels === 'ours') {
    const { registerBatchNormKernels } = await import('../src/ml/webgpu/batchnorm.ts');
    const { routeBatchNormLayer } = await import('../src/ml/webgpu/batchnorm-layer.ts');
    const { registerConvKernels } = await import('../src/ml/webgpu/conv.ts');
    const { registerReluGrad } = await import('../src/ml/webgpu/relu-grad.ts');
    registerReluGrad(tf);
    registerBatchNormKernels(tf);
    routeBatchNormLayer(tf);
    registerConvKernels(tf);
  }
  const { buildResNet, buildClassifier } = await import('../src/ml/resnet.ts');
  const { describeNet, forward, variablesOf } = await import('../src/ml/train/net.ts');
  const { crossEntropy } = await import('../src/ml/train/losses.ts');
  const { KerasAdam } = await import('../src/ml/train/adam.ts');
  const { countDispatches } = await import('../src/ml/webgpu/dispatch-count.ts');
  const size = Number(args.size);
  const batch = Number(args.batch);
  const backbone = buildResNet(tf, { variant: args.variant!, inputShape: [size, size, 3], seed: 1 });
  const net = describeNet(tf, buildClassifier(tf, backbone, { classes: 2, seed: 1 }));
  const vars = variablesOf(net.model.trainableWeights);
  const adam = new KerasAdam(tf, vars, { lr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  const x = tf.randomNormal([batch, size, size, 3]);
  const ys = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 2), 'int32');
  const step = async (): Promise<{ fb: number; opt: number; top: Map<string, number> }> => {
    const at = { seed: 1, epoch: 0, batch: 0 };
    const fb = await countDispatches(tf.backend(), async () => {
      const r = tf.variableGrads(() => crossEntropy(tf, net.head, forward(tf, net, x, { backboneTraining: true, dropout: at }), ys as never), vars);
      await r.value.data();
      return r;
    });
    const grads = fb.result.grads;
    const opt = await countDispatches(tf.backend(), async () => {
      adam.apply(vars.map((v) => grads[v.name] ?? null));
      await vars[0]!.data();
    });
    tf.dispose([fb.result.value, ...Object.values(grads)]);
    return { fb: fb.count.total, opt: opt.count.total, top: fb.count.byProgram };
  };
  await step(); // warm-up: pipelines compiled, Adam slots created
  const t0 = performance.now();
  const s = await step();
  const stepMs = performance.now() - t0;
  const top = [...s.top].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return { kernels, forwardBackward: s.fb, optimizer: s.opt, top, stepMs };
}

if (args.only === 'tfjs' || args.only === 'ours') {
  console.log(JSON.stringify(await measure(args.only)));
  process.exit(0);
}
const self = fileURLToPath(import.meta.url);
const run = (k: string): Figures => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--only', k, '--variant', args.variant!, '--size', args.size!, '--batch', args.batch!], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Figures;
};
console.log(`${args.variant} @${args.size} batch ${args.batch}: GPU dispatches per training step (webgpu backend)`);
for (const k of ['tfjs', 'ours']) {
  const f = run(k);
  console.log(
    `  ${k.padEnd(5)} forward+backward ${f.forwardBackward}, optimizer ${f.optimizer}, total ${f.forwardBackward + f.optimizer}` +
      ` (step ${f.stepMs.toFixed(0)} ms on this adapter; not a GPU timing)`,
  );
  console.log(`        most dispatched: ${f.top.map(([n, c]) => `${n} ${c}`).join(', ')}`);
}
process.exit(0);
