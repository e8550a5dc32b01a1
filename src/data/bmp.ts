/**
 * A small decoder for uncompressed Windows BMP files, because sharp (libvips without
 * ImageMagick) cannot read BMP. Supports 24- and 32-bit BI_RGB (and 32-bit BI_BITFIELDS with
 * the usual masks) and 8-bit (also 1/4-bit) paletted images, bottom-up or top-down rows.
 * Alpha is dropped, as PIL's `convert('RGB')` drops it.
 */
import type { RawImage } from './types.ts';

/** A BMP the decoder cannot read; the caller names the file. */
export class BmpError extends Error {
  override readonly name = 'BmpError';
}

/** Whether bytes start with the BMP signature `BM`. */
export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

/** Decode a BMP into 3-channel RGB. */
export function decodeBmp(buf: Buffer): RawImage {
  if (!isBmp(buf) || buf.length < 26) throw new BmpError('not a BMP file (no BM signature)');
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  let width: number;
  let rawHeight: number;
  let bpp: number;
  let compression = 0;
  let paletteSize = 0;
  let paletteEntryBytes = 4;
  if (headerSize === 12) {
    // BITMAPCOREHEADER (OS/2): 16-bit sizes, 3-byte palette entries.
    width = buf.readUInt16LE(18);
    rawHeight = buf.readInt16LE(20);
    bpp = buf.readUInt16LE(24);
    paletteEntryBytes = 3;
  } else if (headerSize >= 40) {
    width = buf.readInt32LE(18);
    rawHeight = buf.readInt32LE(22);
    bpp = buf.readUInt16LE(28);
    compression = buf.readUInt32LE(30);
    paletteSize = buf.readUInt32LE(46);
  } else {
    throw new BmpError(`unsupported BMP header size ${headerSize}`);
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0) throw new BmpError(`invalid BMP size ${width}x${rawHeight}`);
  // Bit-field masks: BITMAPINFOHEADER keeps them after the header, V4/V5 inside it.
  let masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  if (compression === 3) {
    if (bpp !== 32) throw new BmpError(`BI_BITFIELDS is supported for 32-bit BMPs only, found ${bpp}-bit`);
    const at = 14 + 40;
    masks = [buf.readUInt32LE(at), buf.readUInt32LE(at + 4), buf.readUInt32LE(at + 8)];
  } else if (compression !== 0) {
    throw new BmpError(`compressed BMP (compression ${compression}) is not supported; convert it to PNG`);
  }
  const stride = Math.floor((width * bpp + 31) / 32) * 4;
  if (dataOffset + stride * height > buf.length) throw new BmpError(`truncated BMP: ${width}x${height}x${bpp} needs ${dataOffset + stride * height} bytes, file has ${buf.length}`);
  const out = new Uint8Array(width * height * 3);
  const rowStart = (y: number): number => dataOffset + (topDown ? y : height - 1 - y) * stride;
  if (bpp === 24 || (bpp === 32 && compression === 0)) {
    const step = bpp / 8;
    for (let y = 0; y < height; y++) {
      let s = rowStart(y);
      let d = y * width * 3;
      for (let x = 0; x < width; x++, s += step, d += 3) {
        out[d] = buf[s + 2]!;
        out[d + 1] = buf[s + 1]!;
        out[d + 2] = buf[s]!;
      }
    }
  } else if (bpp === 32) {
    const shifts = masks.map((m) => (m === 0 ? 0 : 31 - Math.clz32(m & -m)));
    const maxes = masks.map((m, i) => (m === 0 ? 1 : m >>> shifts[i]!));
    for (let y = 0; y < height; y++) {
      const s = rowStart(y);
      for (let x = 0; x < width; x++) {
        const v = buf.readUInt32LE(s + x * 4);
        for (let c = 0; c < 3; c++) {
          const m = masks[c]!;
          out[(y * width + x) * 3 + c] = m === 0 ? 0 : Math.round((((v & m) >>> 0) >>> shifts[c]!) * 255 / maxes[c]!);
        }
      }
    }
  } else if (bpp === 8 || bpp === 4 || bpp === 1) {
    const colours = paletteSize > 0 ? paletteSize : 1 << bpp;
    const palStart = 14 + headerSize;
    const palette = new Uint8Array(colours * 3);
    for (let i = 0; i < colours; i++) {
      const o = palStart + i * paletteEntryBytes;
      palette[i * 3] = buf[o + 2] ?? 0;
      palette[i * 3 + 1] = buf[o + 1] ?? 0;
      palette[i * 3 + 2] = buf[o] ?? 0;
    }
    const perByte = 8 / bpp;
    const mask = (1 << bpp) - 1;
    for (let y = 0; y < height; y++) {
      const s = rowStart(y);
      for (let x = 0; x < width; x++) {
        const byte = buf[s + Math.floor(x / perByte)]!;
        const idx = (byte >> ((perByte - 1 - (x % perByte)) * bpp)) & mask;
        if (idx >= colours) throw new BmpError(`palette index ${idx} out of range (${colours} colours) at (${x}, ${y})`);
        const d = (y * width + x) * 3;
        out[d] = palette[idx * 3]!;
        out[d + 1] = palette[idx * 3 + 1]!;
        out[d + 2] = palette[idx * 3 + 2]!;
      }
    }
  } else {
    throw new BmpError(`${bpp}-bit BMP is not supported (expected 1, 4, 8, 24 or 32)`);
  }
  return { data: out, width, height, channels: 3 };
}

/** Encode 3-channel RGB as a 24-bit bottom-up BMP (for tests and fixtures). */
export function encodeBmp24(img: RawImage): Buffer {
  const stride = Math.floor((img.width * 24 + 31) / 32) * 4;
  const size = 54 + stride * img.height;
  const buf = Buffer.alloc(size);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(size, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(img.width, 18);
  buf.writeInt32LE(img.height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(stride * img.height, 34);
  for (let y = 0; y < img.height; y++) {
    const row = 54 + (img.height - 1 - y) * stride;
    for (let x = 0; x < img.width; x++) {
      const s = (y * img.width + x) * img.channels;
      const r = img.data[s]!;
      const g = img.channels === 3 ? img.data[s + 1]! : r;
      const b = img.channels === 3 ? img.data[s + 2]! : r;
      buf[row + x * 3] = b;
      buf[row + x * 3 + 1] = g;
      buf[row + x * 3 + 2] = r;
    }
  }
  return buf;
}
