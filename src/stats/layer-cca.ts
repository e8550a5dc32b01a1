/**
 * The study's layer-similarity protocol (RT CCA.py, protocol.md section 4): for one layer's
 * activations of two models on the same stimuli, repeatedly draw ~10,000 spatial datapoints
 * (whole images) and 64 channels, run svcca on channels x points, and average
 * `mean(cca_coef1)` over the repeats.
 */
import { StatsError } from './errors.ts';
import { ccaFromStack, checkCcaShapes } from './cca.ts';
import { allocStack } from './covariance.ts';
import { choiceWithoutReplacement, createRng, type Rng } from './rng.ts';

/** One layer's activations in NHWC order (as Keras / tfjs produce and extract stages write). */
export interface Activations {
  readonly data: Float32Array | Float64Array;
  /** [n images, h, w, c channels]. */
  readonly shape: readonly number[];
}

/** Options of `layerCca`; defaults are the study's constants. */
export interface LayerCcaOptions {
  /** Target datapoints per repeat (CCA.py `p`, default 10,000): images = round(target / (h w)). */
  targetPoints?: number;
  /** Channels sampled per model (CCA.py `d`, default 64). */
  channels?: number;
  /** Repeats averaged (default 5). */
  repeats?: number;
  /** Seed of the image and channel draws (the reference is unseeded). */
  seed: number;
  /** svcca epsilon (default 1e-12, as the study). */
  epsilon?: number;
}

/** What `layerCca` returns. */
export interface LayerCcaResult {
  /** Mean over repeats of mean(cca_coef1): the number in the paper's CCA tables. */
  mean: number;
  /** Per repeat mean(cca_coef1). */
  repeats: number[];
  /** Datapoints per repeat (images x h x w). */
  points: number;
  /** Images drawn per repeat. */
  images: number;
  /** Channels used per model per repeat. */
  channels: number;
  /** True when the two models have different channel counts and were sampled independently. */
  independentChannels: boolean;
}

/** Python 3 `round` (half to even), which CCA.py applies to target / (h w). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function checkActs(a: Activations, what: string): [number, number, number, number] {
  const s = a.shape;
  if (s.length !== 4 || s.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new StatsError('STATS_BAD_ARGUMENT', `${what}: expected activations of shape [n, h, w, c] with positive sizes, found [${s.join(', ')}]`);
  }
  const [n, h, w, c] = s as [number, number, number, number];
  if (a.data.length !== n * h * w * c) {
    throw new StatsError('STATS_BAD_ARGUMENT', `${what}: shape [${s.join(', ')}] needs ${n * h * w * c} values but data holds ${a.data.length}`);
  }
  return [n, h, w, c];
}

/** `count` channel indices of `c`: a random subset, or all of them permuted when c <= count. */
function drawChannels(rng: Rng, c: number, count: number): Int32Array {
  return choiceWithoutReplacement(rng, c, Math.min(c, count));
}

/**
 * Layer CCA between two models' activations on the same stimuli (same n, h, w).
 *
 * Per repeat: draw `images = min(n, round(targetPoints / (h w)))` images without replacement
 * (the same for both models), flatten them to images*h*w datapoints, pick `channels` channel
 * indices without replacement (the same indices for both when their channel counts are
 * equal, as CCA.py; all channels, permuted, when c <= channels; independently per model when
 * the counts differ), and compute svcca `mean(cca_coef1)` with epsilon 1e-12.
 * Deterministic for a seed. Errors: shape mismatches (STATS_LENGTH_MISMATCH /
 * STATS_BAD_ARGUMENT), zero images per repeat (STATS_BAD_ARGUMENT), too few datapoints for the
 * channels (STATS_TOO_FEW_DATAPOINTS), NaN activations (STATS_NON_FINITE).
 */
export function layerCca(actsA: Activations, actsB: Activations, opts: LayerCcaOptions): LayerCcaResult {
  const [n, h, w, cA] = checkActs(actsA, 'activations A');
  const [nB, hB, wB, cB] = checkActs(actsB, 'activations B');
  if (n !== nB || h !== hB || w !== wB) {
    throw new StatsError(
      'STATS_LENGTH_MISMATCH',
      `layer CCA needs both models' activations on the same stimuli at the same resolution: A is [${actsA.shape.join(', ')}], B is [${actsB.shape.join(', ')}]`,
    );
  }
  const targetPoints = opts.targetPoints ?? 10_000;
  const channels = opts.channels ?? 64;
  const repeats = opts.repeats ?? 5;
  const epsilon = opts.epsilon ?? 1e-12;
  for (const [k, v] of [['targetPoints', targetPoints], ['channels', channels], ['repeats', repeats]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new StatsError('STATS_BAD_ARGUMENT', `layerCca: ${k} must be a positive integer, got ${v}`);
  }
  const hw = h * w;
  const images = Math.min(n, roundHalfEven(targetPoints / hw));
  if (images < 1) {
    throw new StatsError('STATS_BAD_ARGUMENT', `layerCca: round(${targetPoints} / (${h} x ${w})) = 0 images per repeat; raise targetPoints to at least ${Math.ceil(hw / 2) + 1}`);
  }
  const points = images * hw;
  const kA = Math.min(cA, channels);
  const kB = Math.min(cB, channels);
  checkCcaShapes(kA, points, kB, points);
  const independent = cA !== cB;
  const rng = createRng(opts.seed);
  const values: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const imgs = choiceWithoutReplacement(rng, n, images);
    const chA = drawChannels(rng, cA, channels);
    const chB = independent ? drawChannels(rng, cB, channels) : chA;
    const buf = allocStack(kA + kB, points);
    gather(buf.data, buf.stride, 0, actsA.data, imgs, hw, cA, chA, 'activations A');
    gather(buf.data, buf.stride, kA, actsB.data, imgs, hw, cB, chB, 'activations B');
    values.push(ccaFromStack(buf, kA, kB, { epsilon }).meanAll);
  }
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { mean, repeats: values, points, images, channels: Math.min(kA, kB), independentChannels: independent };
}

/** Writes channels `ch` of the drawn images as rows (row0 + k) x datapoints of the stack. */
function gather(
  dst: Float64Array,
  stride: number,
  row0: number,
  src: Float32Array | Float64Array,
  imgs: Int32Array,
  hw: number,
  c: number,
  ch: Int32Array,
  what: string,
): void {
  const k = ch.length;
  let col = 0;
  for (let a = 0; a < imgs.length; a++) {
    const base = (imgs[a] as number) * hw * c;
    for (let px = 0; px < hw; px++, col++) {
      const o = base + px * c;
      for (let t = 0; t < k; t++) {
        const v = src[o + (ch[t] as number)] as number;
        if (v - v !== 0) {
          throw new StatsError('STATS_NON_FINITE', `${what}: image ${imgs[a]}, pixel ${px}, channel ${ch[t]} is ${v}`);
        }
        dst[(row0 + t) * stride + col] = v;
      }
    }
  }
}

/** The stimulus draws of one layer: per draw, which held-out images and which channels. */
export interface LayerDraws {
  /** Images per draw: min(n, round(points / (h w))). */
  perDraw: number;
  /** Per draw, indices into the held-out images (distinct within a draw, drawn afresh from all n every draw). */
  images: Int32Array[];
  /** Per draw, channel indices (min(c, channels) of them, drawn afresh every draw). */
  channels: Int32Array[];
}

/**
 * The paper's stimulus sampling, planned ahead so a model's activations are computed only for
 * the drawn images and kept only for the drawn channels: for each of `draws` repeats, draw
 * round(points / (h w)) images without replacement from the WHOLE held-out fold (CCA.py
 * shuffles the whole fold and takes the first batch, afresh per repeat) and `channels`
 * channels (the same indices for every model with c channels, as CCA.py).
 * Image draws depend on (seed, n, h, w, points) only and channel draws on (seed, c), in
 * separate streams, so every model of a fold gets the same images whatever its width.
 */
export function planLayerDraws(opts: { n: number; h: number; w: number; c: number; points: number; draws: number; channels: number; seed: number }): LayerDraws {
  const { n, h, w, c, points, draws, channels } = opts;
  for (const [k, v] of [['n', n], ['h', h], ['w', w], ['c', c], ['points', points], ['draws', draws], ['channels', channels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new StatsError('STATS_BAD_ARGUMENT', `planLayerDraws: ${k} must be a positive integer, got ${v}`);
  }
  const perDraw = Math.min(n, roundHalfEven(points / (h * w)));
  if (perDraw < 1) {
    throw new StatsError('STATS_BAD_ARGUMENT', `planLayerDraws: round(${points} / (${h} x ${w})) = 0 images per draw; raise points to at least ${Math.ceil((h * w) / 2) + 1}`);
  }
  const imgRng = createRng(opts.seed);
  const chRng = createRng((opts.seed ^ 0x5bd1e995 ^ Math.imul(c, 0x9e3779b1)) >>> 0);
  const images: Int32Array[] = [];
  const chans: Int32Array[] = [];
  for (let r = 0; r < draws; r++) {
    images.push(choiceWithoutReplacement(imgRng, n, perDraw));
    chans.push(drawChannels(chRng, c, channels));
  }
  return { perDraw, images, channels: chans };
}

/**
 * Layer CCA over stored draws: `drawsA` / `drawsB` are [D, m, h, w, k] (draw, image, y, x,
 * channel), each draw already a fresh sample of the fold and its channels (planLayerDraws).
 * Repeat r uses draw r: min(m, round(targetPoints / (h w))) of its images and min(k,
 * channels) of its channels, and the result is the mean over `repeats` <= D repeats of svcca
 * mean(cca_coef1), as `layerCca`. Errors: STATS_BAD_ARGUMENT for more repeats than draws or
 * mismatched shapes.
 */
export function layerCcaOfDraws(drawsA: Activations, drawsB: Activations, opts: LayerCcaOptions): LayerCcaResult {
  const shapeOf = (a: Activations, what: string): number[] => {
    if (a.shape.length !== 5) throw new StatsError('STATS_BAD_ARGUMENT', `${what}: expected draws of shape [draws, m, h, w, k], found [${a.shape.join(', ')}]`);
    return [...a.shape];
  };
  const [dA, ...restA] = shapeOf(drawsA, 'draws A');
  const [dB, ...restB] = shapeOf(drawsB, 'draws B');
  const repeats = opts.repeats ?? 5;
  if (repeats > Math.min(dA!, dB!)) {
    throw new StatsError('STATS_BAD_ARGUMENT', `layerCcaOfDraws: ${repeats} repeats asked but only ${Math.min(dA!, dB!)} draws stored; extract more draws or lower repeats`);
  }
  const per = (rest: number[]) => rest.reduce((s, v) => s * v, 1);
  const values: number[] = [];
  let last: LayerCcaResult | undefined;
  for (let r = 0; r < repeats; r++) {
    const a = { data: drawsA.data.subarray(r * per(restA), (r + 1) * per(restA)), shape: restA };
    const b = { data: drawsB.data.subarray(r * per(restB), (r + 1) * per(restB)), shape: restB };
    last = layerCca(a, b, { ...opts, repeats: 1, seed: (opts.seed + r * 0x9e3779b1) >>> 0 });
    values.push(last.mean);
  }
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { ...last!, mean, repeats: values };
}
