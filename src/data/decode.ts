/**
 * Image decoding to 8-bit RGB as the study's loader sees images (PIL `convert('RGB')`):
 * grayscale replicated to three channels, alpha dropped, 16-bit samples scaled to 8 bits
 * (v >> 8, where PIL would clip), palette expanded. JPEG, PNG, TIFF (and WebP/GIF) through
 * sharp; BMP through our own decoder because sharp has no BMP input. sharp is imported lazily.
 */
import { open, readFile } from 'node:fs/promises';
import { BmpError, decodeBmp, isBmp } from './bmp.ts';
import { dataError, type RawImage } from './types.ts';

/** The sharp factory function (the module's default export). */
export type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | undefined;

/** The sharp module, loaded once on first use (heavy native library). */
export function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/** Decoding options. */
export interface DecodeOptions {
  /**
   * Accept truncated files (the missing part decodes as grey), like PIL with
   * `ImageFile.LOAD_TRUNCATED_IMAGES = True`, which the study sets for mammograms.
   */
  allowTruncated?: boolean;
}

/**
 * How the preprocess stage decodes JPEG files. `exact`: full-size decode, then our resize
 * (the study's PIL/Keras pixels, bit for bit, with `nearest`; baseline JPEGs then go through
 * our libjpeg-identical decoder, jpeg/decode-scaled.ts decodeJpegExactNearestInto). `fast`: our scaled decoder
 * (jpeg/decode-scaled.ts) decodes at 1/2, 1/4 or 1/8 in the DCT domain, on worker threads,
 * then the resize method does the rest; files outside its scope go through sharp's
 * shrink-on-load (decodeJpegResized). Several times less work per image, NOT the study's pixels.
 */
export const DECODE_MODES = ['exact', 'fast'] as const;
/** One decode mode (see DECODE_MODES). */
export type DecodeMode = (typeof DECODE_MODES)[number];

/** sharp's resampling kernels the preprocess methods map to (nearest, bilinear, lanczos). */
export type SharpKernel = 'nearest' | 'linear' | 'lanczos3';

/** Read an image file once (DATA_BAD_IMAGE naming it when it cannot be read). */
export async function readImageBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw dataError('DATA_BAD_IMAGE', `${file}: cannot read file: ${(e as Error).message}`);
  }
}

/** Decode an image file to RGB; a file sharp or the BMP decoder rejects is DATA_BAD_IMAGE naming it. */
export async function decodeImageFile(file: string, opts: DecodeOptions = {}): Promise<RawImage> {
  return decodeImageBuffer(await readImageBytes(file), file, opts);
}

/** True when the bytes start with a JPEG SOI marker followed by another marker (FF D8 FF). */
export function isJpeg(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
}

/**
 * The `decode: fast` path for the JPEGs our scaled decoder hands back (progressive, CMYK,
 * 12-bit, damaged, or too small to reduce): decode and resize to outH x outW in ONE libvips
 * pipeline with shrink-on-load, so libjpeg decodes at 1/2, 1/4 or 1/8 scale where sharp
 * allows it and `kernel` resizes the rest. sharp picks the largest factor s in {8, 4, 2}
 * with s <= min(in/out) over both axes, except that it halves s when the integer part of
 * that ratio equals s (libjpeg rounds scaled sizes up): 1024 -> 224 decodes at 1/2 here.
 * Same conversions as decodeImageBuffer (alpha dropped, grey replicated); damaged files are
 * DATA_BAD_IMAGE naming `source`, as in exact mode.
 */
export async function decodeJpegResized(buf: Buffer, source: string, outH: number, outW: number, kernel: SharpKernel, opts: DecodeOptions = {}): Promise<RawImage> {
  const sharp = await loadSharp();
  try {
    // ignoreIcc: PIL's convert('RGB') leaves pixels as stored; sharp would convert them to
    // sRGB through an embedded ICC profile (a Display P3 JPEG: most pixels differ).
    const { data, info } = await sharp(buf, { failOn: opts.allowTruncated ? 'none' : 'error', limitInputPixels: false, ignoreIcc: true })
      .resize(outW, outH, { fit: 'fill', kernel, fastShrinkOnLoad: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== outW || info.height !== outH) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${outW}x${outH}x3`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: outW, height: outH, channels: 3 };
  } catch (e) {
    throw dataError('DATA_BAD_IMAGE', `${source}: unreadable image: ${(e as Error).message}`);
  }
}

/** Decode image bytes to RGB; `source` names the file in errors. */
export async function decodeImageBuffer(buf: Buffer, source: string, opts: DecodeOptions = {}): Promise<RawImage> {
  if (isBmp(buf)) {
    try {
      return decodeBmp(buf);
    } catch (e) {
      if (e instanceof BmpError) throw dataError('DATA_BAD_IMAGE', `${source}: unreadable BMP: ${e.message}`);
      throw e;
    }
  }
  const sharp = await loadSharp();
  try {
    // ignoreIcc: PIL's convert('RGB') leaves pixels as stored; sharp would convert them to
    // sRGB through an embedded ICC profile (a Display P3 JPEG: most pixels differ).
    const { data, info } = await sharp(buf, { failOn: opts.allowTruncated ? 'none' : 'error', limitInputPixels: false, ignoreIcc: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch (e) {
    throw dataError('DATA_BAD_IMAGE', `${source}: unreadable image: ${(e as Error).message}`);
  }
}

/**
 * Header-only check (format and size) for `dag data check`: sharp metadata reads only the
 * header of the file (a 30 MB mammogram is not loaded); BMP files are parsed by our decoder.
 */
export async function probeImageFile(file: string): Promise<{ format: string; width: number; height: number }> {
  let head: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      head = Buffer.alloc(2);
      await fh.read(head, 0, 2, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw dataError('DATA_BAD_IMAGE', `${file}: cannot read file: ${(e as Error).message}`);
  }
  if (isBmp(head)) {
    const img = await decodeImageFile(file);
    return { format: 'bmp', width: img.width, height: img.height };
  }
  const sharp = await loadSharp();
  try {
    const m = await sharp(file, { failOn: 'error', limitInputPixels: false }).metadata();
    if (!m.width || !m.height || !m.format) throw new Error('no image size in header');
    return { format: m.format, width: m.width, height: m.height };
  } catch (e) {
    throw dataError('DATA_BAD_IMAGE', `${file}: unreadable image header: ${(e as Error).message}`);
  }
}

/** Expand a 1-channel image to 3 channels (synthetic grayscale families). */
export function toRgb(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = img.data[i]!;
    out[i * 3] = v;
    out[i * 3 + 1] = v;
    out[i * 3 + 2] = v;
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}
