/**
 * Figure 4's PNG: the grayscale filter grid of src/ml/filters.ts (the paper's
 * `filter_plot.py` rendering: first 36 conv1 filters, input channel 0, one min-max over the
 * whole kernel) encoded with sharp, so the report embeds it in an SVG wrapper.
 */
import type { GrayImage } from '../ml/filters.ts';

export type { ConvKernel, GrayImage } from '../ml/filters.ts';
export { filterGrid } from '../ml/filters.ts';

/** Encode a grayscale image as PNG with sharp (loaded lazily). */
export async function grayToPng(img: GrayImage): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 1 },
  })
    .toColourspace('b-w') // keep one channel: without it sharp writes the gray grid as RGB
    .png()
    .toBuffer();
}
