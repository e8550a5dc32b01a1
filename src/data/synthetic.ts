/**
 * Procedural data sets for the default pipeline and the tests: learnable but not trivial
 * image classification problems generated in pure JS from a seed, no files needed.
 *
 * Families (every size is a fraction of the image, so the signal is visible at 32 px):
 * - `blobs`: grey textured background; class k holds k bright, well separated soft blobs
 *   (radius 0.1-0.15 of the image, amplitude 90-120 grey levels; class 0 none) plus two dim
 *   dark distractor bumps;
 * - `radiology`: grayscale body-like ellipse with smooth texture (+-12) and little noise;
 *   class k >= 1 holds one bright round lesion (amplitude 90-120) whose radius,
 *   (0.07 + 0.05 k) of the image, grows with k;
 * - `natural`: muted gradient scene with two small half-transparent distractor shapes; the
 *   class is the type of the one large opaque shape (circle, square, triangle, ring, cross,
 *   diamond) and its hue, centred on the class's slot of the colour wheel.
 * Ambiguity is built in: `difficulty` (0..1, default 0.5) lowers the contrast of the class
 * signal (fainter lesions and blobs, more pixel noise, a wider hue spread and a more
 * transparent shape) and flips `0.25 * difficulty` of the labels to another class (12.5 % by
 * default), so a small CNN lands clearly between chance and perfect. With `perPatient`, images
 * come in groups sharing a label and a patient-specific look, so grouped folds matter.
 */
import { createRng, deriveSeed, type Rng } from '../stats/rng.ts';
import type { RawImage } from './types.ts';

/** The procedural families. */
export const SYNTHETIC_FAMILIES = ['blobs', 'radiology', 'natural'] as const;
/** One procedural family. */
export type SyntheticFamily = (typeof SYNTHETIC_FAMILIES)[number];

/** What to generate. */
export interface SyntheticSpec {
  family: SyntheticFamily;
  classes: number;
  count: number;
  /** Image size [height, width]. */
  size: [number, number];
  seed: number;
  /** 0 (easy, no label noise) .. 1 (hard); default 0.5. */
  difficulty?: number;
  /** Images per synthetic patient (groups); omitted or 0: no groups. */
  perPatient?: number;
}

/** One generated item's metadata (the pixels come from `syntheticImage`). */
export interface SyntheticMeta {
  /** The label recorded for the image (after label noise). */
  label: number;
  /** The class whose signal the pixels carry. */
  trueClass: number;
  group?: string;
}

/** Class names `class0..classK-1`, zero-padded so code-point order equals numeric order. */
export function syntheticClassNames(classes: number): string[] {
  const width = String(classes - 1).length;
  return Array.from({ length: classes }, (_, k) => `class${String(k).padStart(width, '0')}`);
}

/** Labels and groups of every item of a spec (cheap: no pixels). */
export function syntheticMeta(spec: SyntheticSpec): SyntheticMeta[] {
  const noise = 0.25 * clamp01(spec.difficulty ?? 0.5);
  const per = spec.perPatient && spec.perPatient > 0 ? Math.floor(spec.perPatient) : 0;
  const rng = createRng(deriveSeed(spec.seed, 'synthetic-labels', spec.family));
  const out: SyntheticMeta[] = [];
  const width = String(Math.max(0, Math.ceil(spec.count / Math.max(1, per)) - 1)).length;
  for (let i = 0; i < spec.count; i++) {
    const unit = per > 0 ? Math.floor(i / per) : i;
    const trueClass = unit % spec.classes;
    let label = trueClass;
    if (spec.classes > 1 && rng.next() < noise) label = (trueClass + 1 + rng.int(spec.classes - 1)) % spec.classes;
    out.push(per > 0 ? { label, trueClass, group: `p${String(unit).padStart(width, '0')}` } : { label, trueClass });
  }
  return out;
}

/** Generate the pixels of item `index` (deterministic in spec.seed, family and index). */
export function syntheticImage(spec: SyntheticSpec, index: number, trueClass: number): RawImage {
  const [h, w] = spec.size;
  const contrast = 1 - 0.6 * clamp01(spec.difficulty ?? 0.5);
  const per = spec.perPatient && spec.perPatient > 0 ? Math.floor(spec.perPatient) : 0;
  // A patient's look (texture seed, brightness) is shared by its images.
  const patientRng = createRng(deriveSeed(spec.seed, 'synthetic-patient', spec.family, per > 0 ? Math.floor(index / per) : index));
  const rng = createRng(deriveSeed(spec.seed, 'synthetic-image', spec.family, index));
  switch (spec.family) {
    case 'blobs':
      return blobs(h, w, trueClass, contrast, rng, patientRng);
    case 'radiology':
      return radiology(h, w, trueClass, contrast, rng, patientRng);
    case 'natural':
      return natural(h, w, trueClass, contrast, rng, patientRng, spec.classes);
    default: {
      const never: never = spec.family;
      throw new Error(`unknown synthetic family ${String(never)}`);
    }
  }
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/** Smooth value noise: a coarse random grid, bilinearly upsampled, in [-1, 1]. */
function smoothNoise(h: number, w: number, cells: number, rng: Rng): Float32Array {
  const g = cells + 1;
  const grid = new Float32Array(g * g);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next() * 2 - 1;
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    const fy = (y / Math.max(1, h - 1)) * cells;
    const y0 = Math.min(cells - 1, Math.floor(fy));
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = (x / Math.max(1, w - 1)) * cells;
      const x0 = Math.min(cells - 1, Math.floor(fx));
      const tx = fx - x0;
      const a = grid[y0 * g + x0]!;
      const b = grid[y0 * g + x0 + 1]!;
      const c = grid[(y0 + 1) * g + x0]!;
      const d = grid[(y0 + 1) * g + x0 + 1]!;
      out[y * w + x] = (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
  return out;
}

/** Add a Gaussian bump of amplitude `amp` and radius `r` centred at (cy, cx). */
function addBump(f: Float32Array, h: number, w: number, cy: number, cx: number, r: number, amp: number): void {
  const y0 = Math.max(0, Math.floor(cy - 3 * r));
  const y1 = Math.min(h - 1, Math.ceil(cy + 3 * r));
  const x0 = Math.max(0, Math.floor(cx - 3 * r));
  const x1 = Math.min(w - 1, Math.ceil(cx + 3 * r));
  const inv = 1 / (2 * r * r);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
      f[y * w + x]! += amp * Math.exp(-d2 * inv);
    }
  }
}

let noiseTable: Float32Array | undefined;

/**
 * Per-pixel noise from a fixed table of 65,536 standard normals, walked from a random offset
 * with a random odd stride: calling the generator per pixel made 1,000 images take seconds.
 */
function pixelNoise(rng: Rng): (i: number) => number {
  if (!noiseTable) {
    const r = createRng(0x5eed);
    noiseTable = new Float32Array(65536);
    for (let i = 0; i < noiseTable.length; i++) noiseTable[i] = r.normal();
  }
  const table = noiseTable;
  const off = rng.int(65536);
  const stride = 1 + 2 * rng.int(32768);
  return (i) => table[(off + Math.imul(i, stride)) & 0xffff]!;
}

function toGray(f: Float32Array, h: number, w: number, rng: Rng, noiseSd: number): RawImage {
  const data = new Uint8Array(h * w);
  const noise = pixelNoise(rng);
  for (let i = 0; i < data.length; i++) {
    const v = f[i]! + noiseSd * noise(i);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
  return { data, width: w, height: h, channels: 1 };
}

function blobs(h: number, w: number, k: number, contrast: number, rng: Rng, patient: Rng): RawImage {
  const base = 80 + 40 * patient.next();
  const tex = smoothNoise(h, w, 4, patient);
  const f = new Float32Array(h * w);
  for (let i = 0; i < f.length; i++) f[i] = base + 15 * tex[i]!;
  const s = Math.min(h, w);
  // Class k holds k bright blobs (radius ~0.1-0.15 of the image, so a 32 px image shows
  // 3-5 px blobs); rejection sampling keeps them apart so they can be counted.
  const placed: [number, number][] = [];
  for (let b = 0; b < k; b++) {
    const r = s * (0.1 + 0.05 * rng.next());
    let cy = 0;
    let cx = 0;
    for (let tries = 0; tries < 20; tries++) {
      cy = 1.5 * r + rng.next() * (h - 3 * r);
      cx = 1.5 * r + rng.next() * (w - 3 * r);
      if (placed.every(([py, px]) => (py - cy) ** 2 + (px - cx) ** 2 > (3 * r) ** 2)) break;
    }
    placed.push([cy, cx]);
    addBump(f, h, w, cy, cx, r, contrast * (90 + 30 * rng.next()));
  }
  // Dim dark distractor bumps so "any structure" is not the whole story.
  for (let b = 0; b < 2; b++) {
    addBump(f, h, w, rng.next() * h, rng.next() * w, s * (0.05 + 0.05 * rng.next()), -(15 + 15 * rng.next()));
  }
  const g = toGray(f, h, w, rng, 6 + 10 * (1 - contrast));
  // Slight colour tint so all three channels carry data.
  const data = new Uint8Array(h * w * 3);
  const tint = [1, 0.95 + 0.1 * patient.next(), 0.9 + 0.1 * patient.next()];
  for (let i = 0; i < h * w; i++) {
    const v = g.data[i]!;
    data[i * 3] = v;
    data[i * 3 + 1] = Math.min(255, Math.round(v * tint[1]!));
    data[i * 3 + 2] = Math.min(255, Math.round(v * tint[2]!));
  }
  return { data, width: w, height: h, channels: 3 };
}

function radiology(h: number, w: number, k: number, contrast: number, rng: Rng, patient: Rng): RawImage {
  const tex = smoothNoise(h, w, 5, patient);
  const fine = smoothNoise(h, w, 10, rng);
  const f = new Float32Array(h * w);
  const cy = h / 2 + (patient.next() - 0.5) * 0.1 * h;
  const cx = w / 2 + (patient.next() - 0.5) * 0.1 * w;
  const ry = h * (0.38 + 0.08 * patient.next());
  const rx = w * (0.34 + 0.08 * patient.next());
  const tissue = 90 + 30 * patient.next();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const e = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2;
      const body = e < 1 ? 1 : Math.max(0, 1 - (e - 1) * 4);
      f[y * w + x] = 15 + body * (tissue + 12 * tex[y * w + x]! + 5 * fine[y * w + x]!);
    }
  }
  if (k > 0) {
    // One bright lesion inside the body, radius ~0.1-0.2 of the image growing with k.
    const s = Math.min(h, w);
    const r = s * (0.07 + 0.05 * k) * (0.85 + 0.3 * rng.next());
    const a = rng.next() * 2 * Math.PI;
    const d = Math.sqrt(rng.next()) * 0.5;
    addBump(f, h, w, cy + Math.sin(a) * d * ry, cx + Math.cos(a) * d * rx, r, contrast * (90 + 30 * rng.next()));
  }
  return toGray(f, h, w, rng, 4 + 10 * (1 - contrast));
}

const SHAPES = 6;

/** Whether (y, x) lies in shape `type` centred at (cy, cx) with radius r. */
function inShape(type: number, y: number, x: number, cy: number, cx: number, r: number): boolean {
  const dy = y - cy;
  const dx = x - cx;
  switch (type) {
    case 0:
      return dx * dx + dy * dy <= r * r; // circle
    case 1:
      return Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85; // square
    case 2:
      return dy <= r * 0.8 && dy >= -r && Math.abs(dx) <= (dy + r) * 0.6; // triangle
    case 3: {
      const d2 = dx * dx + dy * dy;
      return d2 <= r * r && d2 >= r * r * 0.36; // ring
    }
    case 4:
      return (Math.abs(dx) <= r * 0.3 && Math.abs(dy) <= r) || (Math.abs(dy) <= r * 0.3 && Math.abs(dx) <= r); // cross
    default:
      return Math.abs(dx) + Math.abs(dy) <= r; // diamond
  }
}

function drawShape(data: Uint8Array, h: number, w: number, type: number, cy: number, cx: number, r: number, rgb: number[], alpha: number): void {
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(h - 1, Math.ceil(cy + r));
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(w - 1, Math.ceil(cx + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!inShape(type, y, x, cy, cx, r)) continue;
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = Math.round(data[o + c]! * (1 - alpha) + rgb[c]! * alpha);
    }
  }
}

/** RGB (0..255) of hue h (turns, any real), saturation sat and value v in [0, 1]. */
function hsv(hue: number, sat: number, v: number): number[] {
  const h6 = (((hue % 1) + 1) % 1) * 6;
  const i = Math.floor(h6);
  const f = h6 - i;
  const p = v * (1 - sat);
  const q = v * (1 - sat * f);
  const t = v * (1 - sat * (1 - f));
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6]!;
  return rgb.map((c) => Math.round(c * 255));
}

function natural(h: number, w: number, k: number, contrast: number, rng: Rng, patient: Rng, classes: number): RawImage {
  // Muted background: a grey gradient with a faint tint, so the class shape's colour stands out.
  const top = 70 + 100 * patient.next();
  const bottom = 50 + 100 * rng.next();
  const tint = [0, 1, 2].map(() => (rng.next() - 0.5) * 20);
  const tex = smoothNoise(h, w, 5, rng);
  const data = new Uint8Array(h * w * 3);
  const noise = pixelNoise(rng);
  for (let y = 0; y < h; y++) {
    const t = y / Math.max(1, h - 1);
    for (let x = 0; x < w; x++) {
      const n = 15 * tex[y * w + x]! + 4 * noise(y * w + x);
      for (let c = 0; c < 3; c++) {
        const v = top * (1 - t) + bottom * t + tint[c]! + n;
        data[(y * w + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
  }
  const s = Math.min(h, w);
  // Small, half-transparent distractors of any shape and colour.
  for (let d = 0; d < 2; d++) {
    const rgb = hsv(rng.next(), 0.3 + 0.5 * rng.next(), 0.5 + 0.5 * rng.next());
    drawShape(data, h, w, rng.int(SHAPES), rng.next() * h, rng.next() * w, s * (0.05 + 0.04 * rng.next()), rgb, 0.5);
  }
  // The class: the type of the one large opaque shape, whose hue also centres on the class's
  // slot of the colour wheel; harder means a wider hue spread (neighbouring classes overlap)
  // and a more transparent shape.
  const r = s * (0.24 + 0.04 * Math.floor(k / SHAPES) + 0.08 * rng.next());
  const spread = 0.2 + 1.2 * (1 - contrast);
  const rgb = hsv((k + (rng.next() - 0.5) * spread) / classes, 0.75 + 0.25 * rng.next(), 0.75 + 0.25 * rng.next());
  drawShape(data, h, w, k % SHAPES, r + rng.next() * (h - 2 * r), r + rng.next() * (w - 2 * r), r, rgb, 0.55 + 0.45 * contrast);
  return { data, width: w, height: h, channels: 3 };
}
