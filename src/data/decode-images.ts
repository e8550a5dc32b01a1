/**
 * The decode step of preprocess: every image of the item list decoded and resized into one
 * preallocated uint8 RGB buffer, a bounded number at a time (sharp on libuv threads, our JPEG
 * decoders on the calling thread or a pool of worker threads).
 */
import { availableParallelism } from 'node:os';
import { decodeImageBuffer, decodeJpegResized, isJpeg, loadSharp, readImageBytes, toRgb, type DecodeMode } from './decode.ts';
import { decodeJpegExactNearestInto, decodeJpegScaled, JpegFallback } from './jpeg/decode-scaled.ts';
import { JpegDecodePool } from './jpeg/pool.ts';
import { resizeInto, sharpKernel, type ResizeMethod } from './resize.ts';
import { dataError, type DataItem, type RawImage } from './types.ts';
import type { PreprocessEnv, PreprocessParams } from './preprocess-types.ts';

/** Below this many images, decode: fast decodes on the stage's own thread (no worker threads). */
const POOL_MIN_IMAGES = 64;

/** `decode()`'s result, or undefined when our JPEG decoder hands the file to sharp (JpegFallback). */
function unlessFallback<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (e) {
    if (e instanceof JpegFallback) return undefined;
    throw e;
  }
}

/** How to decode: the output size and the checked `resize` / `decode` / `on_bad_image` params. */
export interface DecodeSettings {
  H: number;
  W: number;
  method: ResizeMethod;
  decodeMode: DecodeMode;
  onBad: 'error' | 'skip';
  /** The synthetic adapter: images are generated, never read. */
  synthetic: boolean;
}

/** Decoded images: `pixels` holds image i at i*H*W*3 where `ok[i]`; `skipReason` says why others are missing. */
export interface DecodedImages {
  pixels: Uint8Array;
  ok: Uint8Array;
  skipReason: Map<number, string>;
}

/**
 * Decodes and resizes `items` in index order of slots (not of completion); an unreadable image
 * throws DATA_BAD_IMAGE naming the file, or is recorded in `skipReason` with `on_bad_image: skip`.
 */
export async function decodeImages(items: readonly DataItem[], set: DecodeSettings, params: PreprocessParams, env: PreprocessEnv): Promise<DecodedImages> {
  const { H, W, method, decodeMode, onBad, synthetic } = set;
  const N = items.length;
  const frame = H * W * 3;
  // Our JPEG decoders (jpeg/): `fast` at reduced scale, and `exact` + nearest at full size,
  // bit-identical to libjpeg, with the resize fused in. Both run on the calling thread.
  const ownJpeg = decodeMode === 'fast' || method === 'nearest';
  const fastPool = ownJpeg && !synthetic && N >= POOL_MIN_IMAGES;
  // Shared with the decode pool's threads, which write resized images straight into it.
  const pixels = new Uint8Array(fastPool ? new SharedArrayBuffer(N * frame) : new ArrayBuffer(N * frame));
  const ok = new Uint8Array(N);
  const skipReason = new Map<number, string>();
  const sharp = await loadSharp();
  // sharp runs each decode on a libuv pool thread: keep the pool full. More decodes in flight
  // than cores still helps (measured 2 -> 4 in flight on 2 cores: ~+10 % images/s) because each
  // decode also waits on libvips' worker hand-offs and page faults of its fresh output buffer.
  const uv = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4;
  // decode: fast decodes JPEGs with our scaled decoder (jpeg/decode-scaled.ts), which runs on
  // the calling thread: a pool of one worker thread per core carries it for sets big enough
  // to repay the threads' start-up (~0.1 s each); two requests per thread keep each one busy.
  const threads = Math.max(1, Math.min(env.threads ?? availableParallelism(), availableParallelism()));
  const pool = fastPool ? new JpegDecodePool(threads, pixels.buffer as SharedArrayBuffer) : undefined;
  const workers = Math.max(1, Math.min(pool ? 2 * pool.size : uv, N));
  // libvips threads per image: the pool already runs `workers` images in parallel.
  sharp.concurrency(Math.max(1, Math.floor(availableParallelism() / workers)));
  sharp.cache(false);
  let next = 0;
  let done = 0;
  const batch = Math.max(1, Math.min(256, Math.ceil(N / 100)));
  env.progress({ done: 0, total: N, unit: 'image' });
  const decodeOpts = { allowTruncated: params.allow_truncated === true };
  /** Decode, resize and store item i (throws DATA_BAD_IMAGE naming an unreadable file). */
  const decodeItem = async (it: DataItem, i: number): Promise<void> => {
    let bytes: Buffer | undefined;
    let scaled: RawImage | undefined;
    if (!it.generate && pool) {
      // The pool writes nearest-resized pixels straight into `pixels`; other methods get the scaled image back.
      const r = await pool.decode(it.path, W, H, method === 'nearest' ? i * frame : undefined, decodeMode === 'exact');
      if (r.kind === 'written') return;
      if (r.kind === 'image') scaled = r.image;
      else if (r.bytes) bytes = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.length);
    }
    if (!it.generate && !scaled) bytes ??= await readImageBytes(it.path);
    const fastJpeg = bytes !== undefined && decodeMode === 'fast' && isJpeg(bytes);
    if (!scaled && fastJpeg && !pool) scaled = unlessFallback(() => decodeJpegScaled(bytes!, W, H));
    if (!pool && bytes !== undefined && decodeMode === 'exact' && method === 'nearest' && isJpeg(bytes) && unlessFallback(() => {
      decodeJpegExactNearestInto(bytes!, W, H, pixels, i * frame);
      return true;
    })) return;
    if (scaled) {
      await resizeInto(scaled, H, W, method, pixels, i * frame);
    } else if (fastJpeg) {
      // Outside the scaled decoder's scope (progressive, CMYK, small, damaged): sharp's shrink-on-load.
      pixels.set((await decodeJpegResized(bytes!, it.path, H, W, sharpKernel(method), decodeOpts)).data, i * frame);
    } else {
      const img: RawImage = bytes === undefined ? toRgb(it.generate!()) : await decodeImageBuffer(bytes, it.path, decodeOpts);
      await resizeInto(img, H, W, method, pixels, i * frame);
    }
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      if (env.signal?.aborted) throw dataError('DATA_ABORTED', 'preprocess aborted (Ctrl-C or SIGTERM)');
      const i = next++;
      if (i >= N) return;
      const it = items[i]!;
      try {
        await decodeItem(it, i);
        ok[i] = 1;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (onBad === 'skip' && code === 'DATA_BAD_IMAGE') skipReason.set(i, (e as Error).message);
        else throw e;
      }
      done++;
      if (done % batch === 0 || done === N) env.progress({ done, total: N, unit: 'image' });
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    await pool?.close();
  }

  return { pixels, ok, skipReason };
}
