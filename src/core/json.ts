/**
 * JSON values and their canonical text: what cache-key preimages, run records and plan
 * params are made of. Part of the ground floor (src/core): imports nothing of ours.
 */

/** A JSON value, as stored in cache-key preimages and run records. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * JSON with object keys sorted at every level and no whitespace, so equal values always
 * serialise to the same bytes (the preimage of a cache key must not depend on key order).
 * Non-finite numbers are rejected: they have no JSON form and would collide as `null`.
 */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = value[k];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}
