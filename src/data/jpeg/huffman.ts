/**
 * Huffman tables of a JPEG file (ITU T.81 annex C), built for fast decoding: a 9-bit lookup
 * table resolves the common short codes in one step, and the canonical max-code arrays
 * resolve the rest (codes of 10 to 16 bits) length by length.
 */

/** Bits resolved by the lookup table; longer codes take the slow path. */
export const LOOKUP_BITS = 9;

/** One decoding table (DC or AC) as the scan decoder uses it. */
export interface HuffmanTable {
  /**
   * For every LOOKUP_BITS-bit prefix: (code length << 8) | symbol when a code of at most
   * LOOKUP_BITS bits starts the prefix, else 0 (length 0 never occurs for a real code).
   */
  lookup: Uint16Array;
  /** maxCode[l]: the largest code of length l (-1 when there is none), l = 1..16; [17] is a sentinel. */
  maxCode: Int32Array;
  /** valOffset[l]: index into `values` of the code `code` of length l is code + valOffset[l]. */
  valOffset: Int32Array;
  /** Symbols in code order. */
  values: Uint8Array;
}

/** A DHT segment whose code lengths overflow the code space; the caller falls back to another decoder. */
export class HuffmanTableError extends Error {}

/**
 * Build a table from a DHT entry: `counts[l-1]` codes of length l (l = 1..16) and the
 * symbols in order. Codes are assigned canonically (annex C): each length continues from
 * the previous one shifted left by one bit.
 */
export function buildHuffmanTable(counts: Uint8Array, symbols: Uint8Array): HuffmanTable {
  const lookup = new Uint16Array(1 << LOOKUP_BITS);
  const maxCode = new Int32Array(18).fill(-1);
  const valOffset = new Int32Array(18);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    valOffset[len] = k - code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (code >= 1 << len) throw new HuffmanTableError(`Huffman table has more codes of length ${len} than fit`);
      if (len <= LOOKUP_BITS) {
        const shift = LOOKUP_BITS - len;
        const first = code << shift;
        const entry = (len << 8) | symbols[k]!;
        for (let j = 0; j < 1 << shift; j++) lookup[first + j] = entry;
      }
    }
    maxCode[len] = n > 0 ? code - 1 : -1;
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff;
  return { lookup, maxCode, valOffset, values: symbols.slice(0, k) };
}

/** Bits of the combined AC lookup (buildFastAc). */
export const FAST_AC_BITS = 10;

/**
 * Combined AC table: for each FAST_AC_BITS-bit prefix whose Huffman code AND magnitude bits
 * both fit in it, the whole coefficient at once, packed as
 * (value << 9) | (run << 5) | (code length + magnitude bits); 0 where the slow path must run
 * (longer codes, end-of-block, zero runs). Most coefficients of a photo are small values
 * behind short codes, so most take one table read instead of a decode plus a bit read.
 */
export function buildFastAc(t: HuffmanTable): Int32Array {
  const fast = new Int32Array(1 << FAST_AC_BITS);
  for (let p = 0; p < 1 << FAST_AC_BITS; p++) {
    const e = t.lookup[p >> (FAST_AC_BITS - LOOKUP_BITS)]!;
    if (e === 0) continue;
    const len = e >> 8;
    const sym = e & 255;
    const r = sym >> 4;
    const s = sym & 15;
    if (s === 0 || len + s > FAST_AC_BITS) continue;
    let v = (p >> (FAST_AC_BITS - len - s)) & ((1 << s) - 1);
    if (v < 1 << (s - 1)) v += (-1 << s) + 1;
    fast[p] = (v << 9) | (r << 5) | (len + s);
  }
  return fast;
}
