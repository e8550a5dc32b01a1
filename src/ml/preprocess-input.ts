/**
 * Input preprocessing of the ResNet backbones, as Keras' `preprocess_input` does it.
 *
 * The study's code feeds uint8 RGB images through `tf.keras.applications.imagenet_utils.
 * preprocess_input`, i.e. "caffe" mode: RGB -> BGR, then subtract the ImageNet channel
 * means [103.939, 116.779, 123.68] (B, G, R) with no scaling, for ImageNet, RadImageNet and
 * random init alike (protocol.md section 1.1).
 *
 * What is documented: Keras' ResNet50 ImageNet weights were trained on caffe-mode input.
 * What is assumed: the preprocessing used to pre-train RadImageNet is documented nowhere; the
 * RadImageNet authors' own fine-tuning code applies caffe and then rescales by 1/255 (mode
 * 'radimagenet' here), while the study fed RadImageNet caffe-mode input 255x larger. A
 * different mode changes every activation, so the mode is explicit, set per source, and
 * enters cache keys through the params.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { StageError } from '../core/contract.ts';
import type { Tf } from './tf.ts';

/**
 * Preprocessing modes: 'caffe' (Keras ResNet50, the study's code for every source), 'tf'
 * (x/127.5 - 1) and 'torch' (x/255, ImageNet mean/std in RGB) as Keras' other
 * `preprocess_input` modes, 'unit' (x/255), 'radimagenet' (caffe then /255, as the
 * RadImageNet authors' fine-tuning code), 'none' (raw 0-255 values as float32).
 */
export type PreprocessMode = 'caffe' | 'tf' | 'torch' | 'unit' | 'radimagenet' | 'none';

/** All modes, for parameter schemas and help texts. */
export const PREPROCESS_MODES: readonly PreprocessMode[] = ['caffe', 'radimagenet', 'tf', 'torch', 'none', 'unit'];

/** Keras' 'torch' mode mean per RGB channel (after scaling to [0, 1]). */
export const TORCH_RGB_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** Keras' 'torch' mode standard deviation per RGB channel. */
export const TORCH_RGB_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** ImageNet channel means in BGR order, as subtracted by Keras' caffe mode. */
export const CAFFE_BGR_MEAN: readonly [number, number, number] = [103.939, 116.779, 123.68];

/** A batch of uint8 images in NHWC order with 1 (grayscale) or 3 (RGB) channels. */
export interface ImageBatch {
  readonly data: Uint8Array;
  readonly shape: readonly [number, number, number, number];
}

/** Input that is not an NHWC batch with 1 or 3 channels, or an unknown mode. */
export class PreprocessError extends StageError {
  constructor(message: string) {
    super('ML_PREPROCESS', message);
  }
}

/** Validates a mode string (e.g. from pipeline params). */
export function parsePreprocessMode(value: string): PreprocessMode {
  if ((PREPROCESS_MODES as readonly string[]).includes(value)) return value as PreprocessMode;
  throw new PreprocessError(`unknown preprocessing mode '${value}'; known modes: ${PREPROCESS_MODES.join(', ')}`);
}

function checkShape(shape: readonly number[], length?: number): void {
  const [n, h, w, c] = shape;
  if (shape.length !== 4 || (c !== 1 && c !== 3)) {
    throw new PreprocessError(`images must be NHWC with 1 or 3 channels, got shape [${shape.join(', ')}]`);
  }
  if (length !== undefined && length !== (n ?? 0) * (h ?? 0) * (w ?? 0) * (c ?? 0)) {
    throw new PreprocessError(`image data holds ${length} values but shape [${shape.join(', ')}] needs ${(n ?? 0) * (h ?? 0) * (w ?? 0) * (c ?? 0)}`);
  }
}

/**
 * Preprocess a uint8 NHWC batch (tensor or typed array) into a float32 NHWC tensor with
 * 3 channels; grayscale input is replicated to 3 channels first. The arithmetic is in
 * float32 like Keras' (`float32(x) - float32(mean)`).
 */
export function preprocessInput(tf: Tf, images: Tensor | ImageBatch, mode: PreprocessMode = 'caffe'): Tensor4D {
  const isTensor = typeof (images as Tensor).dataSync === 'function';
  const shape = isTensor ? (images as Tensor).shape : [...(images as ImageBatch).shape];
  checkShape(shape, isTensor ? undefined : (images as ImageBatch).data.length);
  return tf.tidy(() => {
    let x: Tensor4D = isTensor
      ? ((images as Tensor).toFloat() as Tensor4D)
      : tf.tensor4d(new Float32Array((images as ImageBatch).data), shape as [number, number, number, number], 'float32');
    if (shape[3] === 1) x = tf.tile(x, [1, 1, 1, 3]);
    switch (mode) {
      case 'none':
        return x;
      case 'unit':
        return tf.div(x, 255);
      case 'tf':
        return tf.sub(tf.div(x, 127.5), 1);
      case 'torch':
        return tf.div(tf.sub(tf.div(x, 255), tf.tensor1d([...TORCH_RGB_MEAN], 'float32')), tf.tensor1d([...TORCH_RGB_STD], 'float32'));
      case 'caffe':
        return tf.sub(tf.reverse(x, -1), tf.tensor1d([...CAFFE_BGR_MEAN], 'float32'));
      case 'radimagenet':
        return tf.div(tf.sub(tf.reverse(x, -1), tf.tensor1d([...CAFFE_BGR_MEAN], 'float32')), 255);
      default: {
        const never: never = mode;
        throw new PreprocessError(`unknown preprocessing mode '${String(never)}'`);
      }
    }
  });
}

/**
 * The same preprocessing on plain arrays (no tfjs), for checks and for tools that only
 * need a few pixels. Returns float32 NHWC with 3 channels.
 */
export function preprocessPixels(images: ImageBatch, mode: PreprocessMode = 'caffe'): Float32Array {
  checkShape(images.shape, images.data.length);
  const [n, h, w, c] = images.shape;
  const out = new Float32Array(n * h * w * 3);
  const f = Math.fround;
  const mean = CAFFE_BGR_MEAN.map((m) => f(m));
  for (let p = 0; p < n * h * w; p++) {
    const rgb = c === 1 ? [images.data[p]!, images.data[p]!, images.data[p]!] : [images.data[3 * p]!, images.data[3 * p + 1]!, images.data[3 * p + 2]!];
    for (let k = 0; k < 3; k++) {
      let v: number;
      switch (mode) {
        case 'none':
          v = rgb[k]!;
          break;
        case 'unit':
          v = f(rgb[k]! / 255);
          break;
        case 'tf':
          v = f(f(rgb[k]! / 127.5) - 1);
          break;
        case 'torch':
          v = f(f(f(rgb[k]! / 255) - f(TORCH_RGB_MEAN[k]!)) / f(TORCH_RGB_STD[k]!));
          break;
        case 'caffe':
          v = f(rgb[2 - k]! - mean[k]!);
          break;
        case 'radimagenet':
          v = f(f(rgb[2 - k]! - mean[k]!) / 255);
          break;
        default: {
          const never: never = mode;
          throw new PreprocessError(`unknown preprocessing mode '${String(never)}'`);
        }
      }
      out[3 * p + k] = v;
    }
  }
  return out;
}
