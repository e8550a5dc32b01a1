/**
 * Resizing to the data set's size without keeping the aspect ratio and without cropping
 * (Keras `load_img(target_size=...)`). Nearest is our own loop on the decoded buffer with
 * PIL NEAREST's pixel-centre rule, source index floor((i + 0.5) * in / out), so the result
 * does not depend on libvips' shrink paths; bilinear and lanczos (options) use sharp.
 */
import { loadSharp } from './decode.ts';
import type { RawImage } from './types.ts';

/** The resampling methods of the preprocess stage. */
export const RESIZE_METHODS = ['nearest', 'bilinear', 'lanczos'] as const;
/** One resampling method. */
export type ResizeMethod = (typeof RESIZE_METHODS)[number];

/** Nearest-neighbour resize of a 3-channel image into `out` at `offset` (PIL NEAREST sampling). */
export function resizeNearestInto(img: RawImage, outH: number, outW: number, out: Uint8Array, offset: number): void {
  if (img.channels !== 3) throw new Error('resizeNearestInto expects a 3-channel image');
  const xs = new Int32Array(outW);
  for (let x = 0; x < outW; x++) xs[x] = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / outW)) * 3;
  const src = img.data;
  let d = offset;
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / outH));
    const row = sy * img.width * 3;
    for (let x = 0; x < outW; x++) {
      const s = row + xs[x]!;
      out[d] = src[s]!;
      out[d + 1] = src[s + 1]!;
      out[d + 2] = src[s + 2]!;
      d += 3;
    }
  }
}

/** Resize a 3-channel image to outH x outW with `method`, into `out` at `offset`. */
export async function resizeInto(img: RawImage, outH: number, outW: number, method: ResizeMethod, out: Uint8Array, offset: number): Promise<void> {
  switch (method) {
    case 'nearest':
      resizeNearestInto(img, outH, outW, out, offset);
      return;
    case 'bilinear':
    case 'lanczos': {
      if (img.width === outW && img.height === outH) {
        out.set(img.data, offset);
        return;
      }
      const sharp = await loadSharp();
      const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .resize(outW, outH, { fit: 'fill', kernel: method === 'bilinear' ? 'linear' : 'lanczos3' })
        .raw()
        .toBuffer();
      out.set(data, offset);
      return;
    }
    default: {
      const never: never = method;
      throw new Error(`unknown resize method ${String(never)}`);
    }
  }
}
