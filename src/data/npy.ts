/**
 * NumPy `.npy` (format 1.0/2.0/3.0) reading and writing, so every array artifact opens
 * with `numpy.load`. C order only; little-endian numeric dtypes and uint8/bool.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** The dtypes we read and write, by numpy descr. */
export type NpyDtype = '<f4' | '<f8' | '|u1' | '<i4' | '<i8' | '|b1';

/** Typed array matching a dtype (int64 read as BigInt64Array). */
export type NpyData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

/** An n-dimensional array in C order. */
export interface NpyArray<D extends NpyData = NpyData> {
  dtype: NpyDtype;
  shape: number[];
  data: D;
}

/** Raised for a file that is not a readable .npy; names the file and what was wrong. */
export class NpyError extends Error {
  override readonly name = 'NpyError';
  readonly code = 'NPY_FORMAT';
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

function dtypeOf(data: NpyData, bool: boolean): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Uint8Array) return bool ? '|b1' : '|u1';
  if (data instanceof Int32Array) return '<i4';
  return '<i8';
}

/**
 * The .npy header (magic, version 1.0, dict padded to a multiple of 64) for an array of
 * `descr` and `shape`; the raw C-order data follows it. Lets big arrays be written from a
 * preallocated buffer without concatenating them with the header.
 */
export function encodeNpyHeader(descr: NpyDtype, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1')]);
}

/** Serialise an array to .npy bytes (format 1.0; header padded to a multiple of 64). */
export function encodeNpy(data: NpyData, shape: readonly number[], opts: { bool?: boolean } = {}): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(`npy: shape [${shape.join(', ')}] holds ${count} values but data has ${data.length}`);
  }
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([encodeNpyHeader(dtypeOf(data, opts.bool === true), shape), body]);
}

/** Write an array as a .npy file. */
export function writeNpy(file: string, data: NpyData, shape: readonly number[], opts: { bool?: boolean } = {}): void {
  writeFileSync(file, encodeNpy(data, shape, opts));
}

/** Parse .npy bytes; `source` names the file in error messages. */
export function decodeNpy(buf: Buffer, source = '<buffer>'): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new NpyError(`${source}: not a .npy file (bad magic bytes)`);
  }
  const major = buf[6]!;
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new NpyError(`${source}: unsupported .npy format version ${major}`);
  }
  const header = buf.subarray(offset, offset + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyError(`${source}: malformed .npy header: ${header.trim()}`);
  }
  if (fortran === 'True') throw new NpyError(`${source}: Fortran-order arrays are not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const dtype = (descr === '<u1' ? '|u1' : descr === '<b1' ? '|b1' : descr) as NpyDtype;
  const size: Record<NpyDtype, number> = { '<f4': 4, '<f8': 8, '|u1': 1, '|b1': 1, '<i4': 4, '<i8': 8 };
  const bytes = size[dtype];
  if (bytes === undefined) throw new NpyError(`${source}: unsupported dtype ${descr}`);
  if (buf.length - start < count * bytes) {
    throw new NpyError(`${source}: truncated: shape [${shape.join(', ')}] needs ${count * bytes} bytes, file has ${buf.length - start}`);
  }
  // Copy so the result is aligned and independent of the file buffer.
  const raw = new Uint8Array(count * bytes);
  raw.set(buf.subarray(start, start + count * bytes));
  let data: NpyData;
  switch (dtype) {
    case '<f4':
      data = new Float32Array(raw.buffer);
      break;
    case '<f8':
      data = new Float64Array(raw.buffer);
      break;
    case '|u1':
    case '|b1':
      data = raw;
      break;
    case '<i4':
      data = new Int32Array(raw.buffer);
      break;
    case '<i8':
      data = new BigInt64Array(raw.buffer);
      break;
    default: {
      const never: never = dtype;
      throw new NpyError(`${source}: unsupported dtype ${String(never)}`);
    }
  }
  return { dtype, shape, data };
}

/** Read a .npy file. */
export function readNpy(file: string): NpyArray {
  return decodeNpy(readFileSync(file), file);
}
