/**
 * Byte-level helpers for the WebAssembly modules we emit by hand (src/stats/wasm-gram.ts,
 * src/ml/wasm-kernels/gemm.ts): LEB128 integers, sections, vectors, names and the few
 * instruction encodings both use. No toolchain, nothing downloaded: each module is a
 * readable list of opcodes built with these.
 */

/** Unsigned LEB128 (sizes, indices, memarg offsets). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32.const immediates). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A module section: id, byte length, body. */
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
/** A vector: count, then the items. */
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A name (export, import): length-prefixed ASCII. */
export const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/** Value types. */
export const T_I32 = 0x7f;
export const T_F32 = 0x7d;
export const T_V128 = 0x7b;

/** local.get i */
export const localGet = (i: number): number[] => [0x20, ...uleb(i)];
/** local.set i */
export const localSet = (i: number): number[] => [0x21, ...uleb(i)];
/** A SIMD (0xfd-prefixed) instruction with its immediates. */
export const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
