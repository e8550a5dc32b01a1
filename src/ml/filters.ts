/**
 * The first-layer filters of a backbone (Figure 4 of the paper): the `conv1_conv` kernel
 * and the image the study's `filter_plot.py` draws from it — the first 36 filters, one
 * global min-max normalisation over the whole kernel, input channel 0 only (the B channel
 * under caffe ordering), in grayscale.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { StageError } from '../core/contract.ts';
import { findBackbone } from './resnet.ts';

/** A conv kernel, Keras layout [kh, kw, in, out]. */
export interface ConvKernel {
  readonly data: Float32Array;
  readonly shape: [number, number, number, number];
}

/** The `conv1_conv` kernel of a backbone or classifier ([7, 7, 3, 64] in ResNet50). */
export function conv1Filters(model: LayersModel): ConvKernel {
  const kernel = findBackbone(model).getLayer('conv1_conv').getWeights()[0];
  if (!kernel || kernel.shape.length !== 4) throw new Error('conv1_conv has no 4-d kernel');
  return { data: Float32Array.from(kernel.dataSync() as Float32Array), shape: kernel.shape as ConvKernel['shape'] };
}

/** Options of `filterGrid`. */
export interface FilterGridOptions {
  /** Number of filters drawn (36 in the paper). */
  count?: number;
  /** Input channel drawn (0 in the paper). */
  channel?: number;
  /** Filters per row (default: ceil(sqrt(count)), 6 for 36). */
  columns?: number;
  /** Pixels per kernel element (default 8, so a 7x7 filter is 56 px). */
  scale?: number;
  /** Gap between filters in pixels, filled with white (default 2). */
  gap?: number;
}

/** A grayscale image, row-major, one byte per pixel. */
export interface GrayImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * Figure 4's grid as an 8-bit grayscale image: min and max are taken over the whole
 * kernel (all filters and channels) so brightness is comparable across filters and
 * across models only through each model's own range, as in the study.
 */
export function filterGrid(kernel: ConvKernel, opts: FilterGridOptions = {}): GrayImage {
  const [kh, kw, cin, cout] = kernel.shape;
  const count = Math.min(opts.count ?? 36, cout);
  const channel = opts.channel ?? 0;
  if (channel < 0 || channel >= cin) {
    throw new StageError('ML_FILTER_CHANNEL', `filter channel ${channel} is out of range: the kernel has ${cin} input channels`);
  }
  const cols = opts.columns ?? Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const scale = opts.scale ?? 8;
  const gap = opts.gap ?? 2;
  let min = Infinity;
  let max = -Infinity;
  for (const v of kernel.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min || 1;
  const width = cols * kw * scale + (cols - 1) * gap;
  const height = rows * kh * scale + (rows - 1) * gap;
  const data = new Uint8Array(width * height).fill(255);
  for (let f = 0; f < count; f++) {
    const x0 = (f % cols) * (kw * scale + gap);
    const y0 = Math.floor(f / cols) * (kh * scale + gap);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const v = kernel.data[((i * kw + j) * cin + channel) * cout + f]!;
        const g = Math.round(((v - min) / range) * 255);
        for (let dy = 0; dy < scale; dy++) data.fill(g, (y0 + i * scale + dy) * width + x0 + j * scale, (y0 + i * scale + dy) * width + x0 + (j + 1) * scale);
      }
    }
  }
  return { data, width, height };
}
