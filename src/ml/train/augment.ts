/**
 * Training-time augmentation equal to the study's Keras `ImageDataGenerator`
 * (protocol.md §1.1): rotation, width/height shift, shear, independent x/y zoom, an affine
 * resampling with `fill_mode='nearest'`, then a horizontal flip. It runs on raw 0-255
 * pixels *before* `preprocess_input`, as Keras does, in plain JS so it is deterministic on
 * every backend and costs no tensor memory.
 *
 * Keras details reproduced on purpose:
 * - the affine matrix is rotation · shift · shear · zoom acting on (row, col) output
 *   coordinates, re-centred on ((h-1)/2, (w-1)/2) (keras_preprocessing
 *   `apply_affine_transform` / `transform_matrix_offset_center`);
 * - `tx` is the row (height) shift and `ty` the column (width) shift, both in pixels;
 * - shear is in degrees (0.1° is negligible but kept);
 * - sampling is `scipy.ndimage.affine_transform` with `order=1` (bilinear; Keras's default
 *   `interpolation_order=1`) and coordinates clamped to the edge (`mode='nearest'`);
 *   `interpolation: 'nearest'` gives order-0 sampling instead;
 * - the output is float32 (Keras converts images to float before transforming), so the
 *   bilinear values are not rounded back to integers;
 * - the draws happen in Keras's order: theta, tx, ty, shear, zx, zy, flip.
 */

/** Augmentation settings; the defaults are the study's (RT@PAPER:src/fine-tuning.py:121-130). */
export interface AugmentOptions {
  /** Maximum absolute rotation, degrees (Keras `rotation_range`). Default 10. */
  rotation: number;
  /** Maximum column shift as a fraction of the width (`width_shift_range`). Default 0.1. */
  widthShift: number;
  /** Maximum row shift as a fraction of the height (`height_shift_range`). Default 0.1. */
  heightShift: number;
  /** Maximum absolute shear angle in degrees (`shear_range`). Default 0.1. */
  shear: number;
  /** Zoom factor range, drawn independently per axis (`zoom_range=0.1`). Default [0.9, 1.1]. */
  zoom: [number, number];
  /** Horizontal flip with probability 0.5. Default true; the chest dataset disables it. */
  flip: boolean;
  /** Resampling: Keras's `interpolation_order=1` is 'bilinear' (default). */
  interpolation: 'bilinear' | 'nearest';
}

/** The study's augmentation. */
export const DEFAULT_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  rotation: 10,
  widthShift: 0.1,
  heightShift: 0.1,
  shear: 0.1,
  zoom: [0.9, 1.1] as [number, number],
  flip: true,
  interpolation: 'bilinear' as const,
});

/** One image's random transform, in Keras's parameterisation. */
export interface AffineDraw {
  /** Rotation in degrees. */
  theta: number;
  /** Row shift in pixels. */
  tx: number;
  /** Column shift in pixels. */
  ty: number;
  /** Shear in degrees. */
  shear: number;
  zx: number;
  zy: number;
  flip: boolean;
}

/** Draw one image's transform from `rand` (uniform [0,1)) in Keras's order. */
export function drawTransform(rand: () => number, h: number, w: number, o: AugmentOptions): AffineDraw {
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const theta = o.rotation ? u(-o.rotation, o.rotation) : 0;
  let tx = o.heightShift ? u(-o.heightShift, o.heightShift) : 0;
  if (o.heightShift < 1) tx *= h;
  let ty = o.widthShift ? u(-o.widthShift, o.widthShift) : 0;
  if (o.widthShift < 1) ty *= w;
  const shear = o.shear ? u(-o.shear, o.shear) : 0;
  let zx = 1;
  let zy = 1;
  if (o.zoom[0] !== 1 || o.zoom[1] !== 1) {
    zx = u(o.zoom[0], o.zoom[1]);
    zy = u(o.zoom[0], o.zoom[1]);
  }
  const flip = o.flip ? rand() < 0.5 : false;
  return { theta, tx, ty, shear, zx, zy, flip };
}

type M3 = [number, number, number, number, number, number, number, number, number];

function mul3(a: M3, b: M3): M3 {
  const r = new Array<number>(9) as M3;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      r[i * 3 + j] = a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!;
    }
  }
  return r;
}

/**
 * The inverse map of a draw as [a, b, c, d, e, f]: the input pixel sampled for output
 * (i, j) is (a·i + b·j + c, d·i + e·j + f), exactly as keras_preprocessing builds it.
 * Returns null for the identity (Keras then skips resampling altogether).
 */
export function inverseMap(t: AffineDraw, h: number, w: number): [number, number, number, number, number, number] | null {
  let m: M3 | null = null;
  const then = (x: M3): void => {
    m = m === null ? x : mul3(m, x);
  };
  if (t.theta !== 0) {
    const r = (t.theta * Math.PI) / 180;
    then([Math.cos(r), -Math.sin(r), 0, Math.sin(r), Math.cos(r), 0, 0, 0, 1]);
  }
  if (t.tx !== 0 || t.ty !== 0) then([1, 0, t.tx, 0, 1, t.ty, 0, 0, 1]);
  if (t.shear !== 0) {
    const s = (t.shear * Math.PI) / 180;
    then([1, -Math.sin(s), 0, 0, Math.cos(s), 0, 0, 0, 1]);
  }
  if (t.zx !== 1 || t.zy !== 1) then([t.zx, 0, 0, 0, t.zy, 0, 0, 0, 1]);
  if (m === null) return null;
  const ox = h / 2 - 0.5;
  const oy = w / 2 - 0.5;
  const c = mul3(mul3([1, 0, ox, 0, 1, oy, 0, 0, 1], m), [1, 0, -ox, 0, 1, -oy, 0, 0, 1]);
  return [c[0], c[1], c[2], c[3], c[4], c[5]];
}

/**
 * Apply a draw to one HWC image (`src` from `srcOffset`, `channels` per pixel) and write
 * float32 pixels to `out` from `outOffset`. Affine resampling first, then the flip, as in
 * Keras `apply_transform`.
 */
export function applyTransform(
  src: Uint8Array | Float32Array,
  srcOffset: number,
  h: number,
  w: number,
  channels: number,
  t: AffineDraw,
  interpolation: AugmentOptions['interpolation'],
  out: Float32Array,
  outOffset: number,
): void {
  const map = inverseMap(t, h, w);
  const px = (r: number, c: number, ch: number): number => src[srcOffset + (r * w + c) * channels + ch]!;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const oj = t.flip ? w - 1 - j : j;
      const o = outOffset + (i * w + oj) * channels;
      if (map === null) {
        for (let ch = 0; ch < channels; ch++) out[o + ch] = px(i, j, ch);
        continue;
      }
      const r = map[0] * i + map[1] * j + map[2];
      const c = map[3] * i + map[4] * j + map[5];
      switch (interpolation) {
        case 'bilinear': {
          const r0f = Math.floor(r);
          const c0f = Math.floor(c);
          const fr = r - r0f;
          const fc = c - c0f;
          const r0 = clamp(r0f, h);
          const r1 = clamp(r0f + 1, h);
          const c0 = clamp(c0f, w);
          const c1 = clamp(c0f + 1, w);
          for (let ch = 0; ch < channels; ch++) {
            const top = px(r0, c0, ch) * (1 - fc) + px(r0, c1, ch) * fc;
            const bottom = px(r1, c0, ch) * (1 - fc) + px(r1, c1, ch) * fc;
            out[o + ch] = top * (1 - fr) + bottom * fr;
          }
          break;
        }
        case 'nearest': {
          const rr = clamp(Math.round(r), h);
          const cc = clamp(Math.round(c), w);
          for (let ch = 0; ch < channels; ch++) out[o + ch] = px(rr, cc, ch);
          break;
        }
        default: {
          const never: never = interpolation;
          throw new Error(`unknown interpolation ${String(never)}`);
        }
      }
    }
  }
}

function clamp(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/**
 * Gather `indices` from an NHWC uint8 set into one float32 batch, augmenting image k of the
 * batch with the draw from `randFor(k)` when `opts` is given (training), or copying it
 * unchanged when `opts` is null (validation / evaluation).
 */
export function gatherBatch(
  images: Uint8Array,
  shape: readonly [number, number, number, number],
  indices: ArrayLike<number>,
  opts: AugmentOptions | null,
  randFor: (k: number) => () => number,
): Float32Array {
  const [, h, w, ch] = shape;
  const size = h * w * ch;
  const out = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) {
    const src = indices[k]! * size;
    if (opts === null) {
      for (let q = 0; q < size; q++) out[k * size + q] = images[src + q]!;
      continue;
    }
    const draw = drawTransform(randFor(k), h, w, opts);
    applyTransform(images, src, h, w, ch, draw, opts.interpolation, out, k * size);
  }
  return out;
}
