/**
 * Figure 4: the first conv1 filters of a source drawn as a grayscale grid, the way the
 * paper's `filter_plot.py` does it (input channel 0, one min-max normalisation over all
 * filters, first 36 filters in a 6 x 6 grid), built pixel by pixel and encoded with sharp.
 */

/** A conv kernel in Keras layout [kh, kw, cin, cout], C order. */
export interface ConvKernel {
  data: Float32Array | Float64Array;
  shape: readonly [number, number, number, number];
}

/** Options of `filterGridPixels`. */
export interface FilterGridOptions {
  /** How many filters (default 36, as the paper). */
  count?: number;
  /** Grid columns (default ceil(sqrt(count))). */
  columns?: number;
  /** Input channel drawn (default 0, the B channel under caffe ordering, as the paper). */
  channel?: number;
  /** Screen pixels per kernel pixel (default 8). */
  scale?: number;
  /** Gap between filters in screen pixels (default 2, white). */
  gap?: number;
}

/** A single-channel 8-bit image. */
export interface GrayImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/**
 * Lay out the filters as one grayscale image. The min and max are taken over all values of
 * all filters and channels of the kernel (as the paper's global normalisation), so contrast is
 * comparable between filters of one source.
 */
export function filterGridPixels(kernel: ConvKernel, opts: FilterGridOptions = {}): GrayImage {
  const [kh, kw, cin, cout] = kernel.shape;
  if (kernel.data.length !== kh * kw * cin * cout) {
    throw new RangeError(`kernel shape [${kernel.shape.join(', ')}] does not match ${kernel.data.length} values`);
  }
  const count = Math.min(opts.count ?? 36, cout);
  const columns = opts.columns ?? Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const channel = Math.min(opts.channel ?? 0, cin - 1);
  const scale = opts.scale ?? 8;
  const gap = opts.gap ?? 2;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of kernel.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const cellW = kw * scale;
  const cellH = kh * scale;
  const width = columns * cellW + (columns + 1) * gap;
  const height = rows * cellH + (rows + 1) * gap;
  const pixels = new Uint8Array(width * height).fill(255);
  for (let f = 0; f < count; f++) {
    const ox = gap + (f % columns) * (cellW + gap);
    const oy = gap + Math.floor(f / columns) * (cellH + gap);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        const v = kernel.data[((y * kw + x) * cin + channel) * cout + f]!;
        const g = Math.round(((v - lo) / span) * 255);
        for (let dy = 0; dy < scale; dy++) {
          const row = (oy + y * scale + dy) * width + ox + x * scale;
          pixels.fill(g, row, row + scale);
        }
      }
    }
  }
  return { width, height, pixels };
}

/** Encode a grayscale image as PNG with sharp (loaded lazily). */
export async function grayToPng(img: GrayImage): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp(Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength), {
    raw: { width: img.width, height: img.height, channels: 1 },
  })
    .png()
    .toBuffer();
}
