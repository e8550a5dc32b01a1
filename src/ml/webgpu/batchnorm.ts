/**
 * Training-mode BatchNormalization on WebGPU in two dispatches forward and two backward.
 *
 * tfjs-layers composes a training-mode BatchNormalization from `tf.moments` (Mean,
 * Sub, Square, Mean: four reductions/elementwise kernels, a transpose per mean on
 * webgpu), `FusedBatchNorm`, and six small ops for the moving averages; its gradient
 * is a dozen more kernels. Here one custom kernel, `DagBatchNormTrain`, does it all
 * for a channels-last input viewed as [R rows, C channels]:
 *
 * - pass 1 (`bn_stats`): workgroups over (channel block, row chunk) sum (x - K) and
 *   (x - K)^2 per channel, K being the first row's value (shifted sums: no
 *   cancellation when |mean| >> std). It also copies gamma, beta and the moving
 *   statistics behind the partial sums, so pass 2 stays within WebGPU's default
 *   8 storage bindings;
 * - pass 2 (`bn_apply`): every workgroup reduces the chunks' partials for its channel
 *   block (a few dozen loads per channel), then writes y = (x - mean) * gamma /
 *   sqrt(var + eps) + beta over its rows; the first row tile also writes the saved
 *   statistics (mean, 1/sqrt(var + eps)) and the updated moving mean and variance
 *   (Keras' `m - (m - batch) * (1 - momentum)`), so the moving averages cost nothing extra.
 *
 * Its gradient (`DagBatchNormTrainGrad`) is the same two-pass shape: per-chunk sums of
 * dy and dy * (x - mean), then dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
 * with dgamma = sum(dy * xhat) and dbeta = sum(dy) from the first row tile. This is
 * the gradient of the whole composite (moments included), as tfjs' chain of kernels
 * computes it op by op. Variance is the biased batch variance, as in tfjs-layers.
 *
 * ./batchnorm-layer.ts routes tfjs-layers' BatchNormalization to this kernel in
 * training mode on webgpu; every other backend and mode keeps tfjs' own path.
 */
import type { Tf } from '../backend.ts';
import { bindingsWgsl, dispatch, getPipeline, makeOutput, type TensorInfo, type WebGpuBackendLike } from './program.ts';

/** Forward kernel: inputs x, scale, offset, movingMean, movingVariance; outputs y, stats [2C], new moving mean, new moving variance. */
export const BN_TRAIN_KERNEL = 'DagBatchNormTrain';
/** Gradient kernel: inputs dy, x, stats, scale; outputs dx, dscale, doffset. */
export const BN_TRAIN_GRAD_KERNEL = 'DagBatchNormTrainGrad';

/** Threads per workgroup in both passes. */
const THREADS = 256;
/** Rows each workgroup of the apply pass covers. */
const APPLY_ROWS = 256;

/** Channel lanes of a workgroup (the rest of its 256 threads split the rows): 64, or fewer for narrow layers. */
function channelLanes(c: number): number {
  let w = 4;
  while (w < 64 && w < c) w *= 2;
  return w;
}

/** Row chunks of the statistics pass: enough workgroups to fill a GPU, a few hundred rows each at least. */
function chunking(rows: number): { chunks: number; perChunk: number } {
  const chunks = Math.max(1, Math.min(64, Math.ceil(rows / 512)));
  return { chunks, perChunk: Math.ceil(rows / chunks) };
}

/**
 * WGSL of a statistics pass: per (chunk, channel) sums of two per-element terms.
 * `terms` computes `a` and `b` from the element index `i` and channel `c`.
 * `extra` runs once per channel in the first chunk (copies of small vectors).
 */
function sumsShader(inputs: string[], lanes: number, terms: string, extra: string): string {
  const rowLanes = THREADS / lanes;
  return `
${bindingsWgsl(inputs, ['part'], ['R', 'C', 'perChunk', 'chunks'])}
var<workgroup> s1: array<f32, ${THREADS}>;
var<workgroup> s2: array<f32, ${THREADS}>;
@compute @workgroup_size(${lanes}, ${rowLanes})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = wg.x * ${lanes}u + lid.x;
  let chunk = wg.y;
  let t = lid.y * ${lanes}u + lid.x;
  var a = 0.0;
  var b = 0.0;
  if (c < u.C) {
    let r1 = min(u.R, (chunk + 1u) * u.perChunk);
    for (var r = chunk * u.perChunk + lid.y; r < r1; r += ${rowLanes}u) {
      let i = r * u.C + c;
      ${terms}
    }
  }
  s1[t] = a;
  s2[t] = b;
  workgroupBarrier();
  for (var step = ${rowLanes / 2}u; step > 0u; step = step / 2u) {
    if (lid.y < step) {
      s1[t] += s1[t + step * ${lanes}u];
      s2[t] += s2[t + step * ${lanes}u];
    }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < u.C) {
    part[chunk * 2u * u.C + c] = s1[t];
    part[chunk * 2u * u.C + u.C + c] = s2[t];
    if (chunk == 0u) {
      let tail = u.chunks * 2u * u.C;
      ${extra}
    }
  }
}`;
}

/**
 * WGSL of an apply pass: each workgroup first reduces the partial sums of its channel
 * block (`finish` sets coef0..coef2 per channel and may write small outputs when
 * `first`), then maps `body` over its rows.
 */
function applyShader(inputs: string[], outputs: string[], lanes: number, uniforms: string[], finish: string, body: string): string {
  const rowLanes = THREADS / lanes;
  return `
${bindingsWgsl(inputs, outputs, ['R', 'C', 'chunks', ...uniforms])}
var<workgroup> coef0: array<f32, ${lanes}>;
var<workgroup> coef1: array<f32, ${lanes}>;
var<workgroup> coef2: array<f32, ${lanes}>;
@compute @workgroup_size(${lanes}, ${rowLanes})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = wg.x * ${lanes}u + lid.x;
  let first = wg.y == 0u;
  if (lid.y == 0u && c < u.C) {
    var S1 = 0.0;
    var S2 = 0.0;
    for (var k = 0u; k < u.chunks; k++) {
      S1 += part[k * 2u * u.C + c];
      S2 += part[k * 2u * u.C + u.C + c];
    }
    let n = f32(u.R);
    let tail = u.chunks * 2u * u.C;
    ${finish}
  }
  workgroupBarrier();
  if (c < u.C) {
    let m0 = coef0[lid.x];
    let m1 = coef1[lid.x];
    let m2 = coef2[lid.x];
    let r1 = min(u.R, (wg.y + 1u) * ${APPLY_ROWS}u);
    for (var r = wg.y * ${APPLY_ROWS}u + lid.y; r < r1; r += ${rowLanes}u) {
      let i = r * u.C + c;
      ${body}
    }
  }
}`;
}

function rowsAndChannels(x: TensorInfo): { R: number; C: number } {
  const C = x.shape[x.shape.length - 1]!;
  const R = x.shape.reduce((a, b) => a * b, 1) / C;
  return { R, C };
}

/** `DagBatchNormTrain` on the webgpu backend (see the module comment). */
function batchNormTrain(args: { inputs: Record<string, TensorInfo>; backend: WebGpuBackendLike; attrs: Record<string, unknown> }): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { x, scale, offset, movingMean, movingVariance } = inputs as Record<'x' | 'scale' | 'offset' | 'movingMean' | 'movingVariance', TensorInfo>;
  const eps = attrs['varianceEpsilon'] as number;
  const momentum = attrs['momentum'] as number;
  const { R, C } = rowsAndChannels(x);
  const lanes = channelLanes(C);
  const { chunks, perChunk } = chunking(R);
  const part = makeOutput(backend, [chunks * 2 * C + 4 * C]);
  const y = makeOutput(backend, [...x.shape]);
  const stats = makeOutput(backend, [2 * C]);
  const newMean = makeOutput(backend, [C]);
  const newVar = makeOutput(backend, [C]);
  const device = backend.device;
  const p1 = getPipeline(device, `bn_stats_${lanes}`, 5, 1, () =>
    sumsShader(
      ['x', 'gamma', 'beta', 'mm', 'mv'],
      lanes,
      'let v = x[i] - x[c]; a += v; b += v * v;',
      'part[tail + c] = gamma[c]; part[tail + u.C + c] = beta[c]; part[tail + 2u * u.C + c] = mm[c]; part[tail + 3u * u.C + c] = mv[c];',
    ),
  );
  dispatch(backend, {
    name: 'bn_stats',
    pipeline: p1,
    inputs: [x, scale, offset, movingMean, movingVariance],
    outputs: [part],
    uniforms: [R, C, perChunk, chunks],
    groups: [Math.ceil(C / lanes), chunks, 1],
  });
  const p2 = getPipeline(device, `bn_apply_${lanes}`, 2, 4, () =>
    applyShader(
      ['x', 'part'],
      ['y', 'stats', 'newMean', 'newVar'],
      lanes,
      ['eps: f32', 'decay: f32'],
      `let d1 = S1 / n;
    let mean = x[c] + d1;
    let variance = max(S2 / n - d1 * d1, 0.0);
    let inv = 1.0 / sqrt(variance + u.eps);
    coef0[lid.x] = mean;
    coef1[lid.x] = part[tail + c] * inv;
    coef2[lid.x] = part[tail + u.C + c];
    if (first) {
      stats[c] = mean;
      stats[u.C + c] = inv;
      let mm = part[tail + 2u * u.C + c];
      let mv = part[tail + 3u * u.C + c];
      newMean[c] = mm - (mm - mean) * u.decay;
      newVar[c] = mv - (mv - variance) * u.decay;
    }`,
      'y[i] = (x[i] - m0) * m1 + m2;',
    ),
  );
  dispatch(backend, {
    name: 'bn_apply',
    pipeline: p2,
    inputs: [x, part],
    outputs: [y, stats, newMean, newVar],
    uniforms: [R, C, chunks, { f32: eps }, { f32: 1 - momentum }],
    groups: [Math.ceil(C / lanes), Math.ceil(R / APPLY_ROWS), 1],
  });
  backend.disposeData(part.dataId);
  return [y, stats, newMean, newVar];
}

/** `DagBatchNormTrainGrad` on the webgpu backend: [dx, dscale, doffset]. */
function batchNormTrainGrad(args: { inputs: Record<string, TensorInfo>; backend: WebGpuBackendLike }): TensorInfo[] {
  const { inputs, backend } = args;
  const { dy, x, stats, scale } = inputs as Record<'dy' | 'x' | 'stats' | 'scale', TensorInfo>;
  const { R, C } = rowsAndChannels(x);
  const lanes = channelLanes(C);
  const { chunks, perChunk } = chunking(R);
  const part = makeOutput(backend, [chunks * 2 * C]);
  const dx = makeOutput(backend, [...x.shape]);
  const dscale = makeOutput(backend, [C]);
  const doffset = makeOutput(backend, [C]);
  const device = backend.device;
  const p1 = getPipeline(device, `bn_grad_sums_${lanes}`, 3, 1, () =>
    sumsShader(['dy', 'x', 'stats'], lanes, 'let g = dy[i]; a += g; b += g * (x[i] - stats[c]);', ''),
  );
  dispatch(backend, {
    name: 'bn_grad_sums',
    pipeline: p1,
    inputs: [dy, x, stats],
    outputs: [part],
    uniforms: [R, C, perChunk, chunks],
    groups: [Math.ceil(C / lanes), chunks, 1],
  });
  const p2 = getPipeline(device, `bn_grad_apply_${lanes}`, 5, 3, () =>
    applyShader(
      ['dy', 'x', 'stats', 'part', 'gamma'],
      ['dx', 'dgamma', 'dbeta'],
      lanes,
      [],
      `let inv = stats[u.C + c];
    let dg = S2 * inv;
    coef0[lid.x] = stats[c];
    coef1[lid.x] = S1 / n;
    coef2[lid.x] = inv * dg / n;
    if (first) {
      dgamma[c] = dg;
      dbeta[c] = S1;
    }
    _ = tail;`,
      'dx[i] = gamma[c] * stats[u.C + c] * (dy[i] - m1 - (x[i] - m0) * m2);',
    ),
  );
  dispatch(backend, {
    name: 'bn_grad_apply',
    pipeline: p2,
    inputs: [dy, x, stats, part, scale],
    outputs: [dx, dscale, doffset],
    uniforms: [R, C, chunks],
    groups: [Math.ceil(C / lanes), Math.ceil(R / APPLY_ROWS), 1],
  });
  backend.disposeData(part.dataId);
  return [dx, dscale, doffset];
}

type KernelFunc = Parameters<Tf['registerKernel']>[0]['kernelFunc'];

/**
 * Registers both kernels on the webgpu backend and the forward kernel's gradient
 * (idempotent). The gradient is global; the forward kernel only exists on webgpu,
 * so only webgpu runs ever record it.
 */
export function registerBatchNormKernels(tf: Tf): void {
  for (const [kernelName, fn] of [
    [BN_TRAIN_KERNEL, batchNormTrain],
    [BN_TRAIN_GRAD_KERNEL, batchNormTrainGrad],
  ] as const) {
    if (tf.getKernel(kernelName, 'webgpu') === undefined) {
      tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: fn as unknown as KernelFunc });
    }
  }
  type T = import('@tensorflow/tfjs').Tensor;
  tf.registerGradient({
    kernelName: BN_TRAIN_KERNEL,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, false, false],
    gradFunc: (dys: T | T[], saved: T[]) => {
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const [x, scale, stats] = saved as [T, T, T];
      const [dx, dscale, doffset] = tf.engine().runKernel(BN_TRAIN_GRAD_KERNEL, { dy, x, stats, scale } as never, {} as never) as unknown as [T, T, T];
      // y does not depend on the moving statistics (only their updates do).
      const zero = (): T => tf.zerosLike(scale);
      return { x: () => dx, scale: () => dscale, offset: () => doffset, movingMean: zero, movingVariance: zero };
    },
  } as unknown as Parameters<Tf['registerGradient']>[0]);
}
