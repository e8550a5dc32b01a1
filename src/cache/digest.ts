/**
 * Content digests and canonical JSON: the two primitives every cache key and object
 * name is built from. Branded types keep a file digest from being passed where a cache
 * key is expected (both are sha256 hex strings).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/** sha256 hex of some content (a file, a folder listing, a log). */
export type Digest = string & { readonly __brand: 'Digest' };
/** sha256 hex of a canonical key preimage: names a run record. */
export type CacheKey = string & { readonly __brand: 'CacheKey' };

/** sha256 hex of a string (UTF-8) or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Content digest of in-memory bytes. */
export function digestBytes(data: string | Uint8Array): Digest {
  return sha256Hex(data) as Digest;
}

const CHUNK = 1 << 22;

/**
 * Content digest of a file, read in 4 MiB chunks so large weights files do not need
 * to fit in memory. Synchronous on purpose: callers hash between scheduling steps and
 * the stat cache keeps this off the hot path of a no-op run.
 */
export function digestFileSync(file: string): Digest {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex') as Digest;
}
