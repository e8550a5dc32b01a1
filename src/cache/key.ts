/**
 * Cache keys: sha256 of a canonical JSON preimage holding everything that can change an
 * instance's outputs. The preimage is stored with each run record so `dag status` can
 * name the field that changed (`param epochs: 3 -> 5`) instead of only saying "stale".
 *
 * Upstream inputs enter by the content digest of their outputs, not by their keys: a
 * re-run that reproduces the same bytes leaves every downstream key unchanged (early
 * cutoff).
 */
import type { Json } from '../core/contract.ts';
import { canonicalJson } from '../core/json.ts';
import { digestBytes, sha256Hex, type CacheKey, type Digest } from './digest.ts';

/** Bump when the preimage's meaning changes; every key changes with it. */
export const KEY_SCHEMA_VERSION = 1;

/** The recorded outputs of one run: path relative to outDir -> content digest and size. */
export type OutputManifest = Record<string, { digest: Digest; size: number }>;

/** Everything that determines an instance's outputs. */
export interface KeyPreimage {
  schema: number;
  kind: string;
  /** Stage code identity: explicit `version` (or null) plus the digest of each code file. */
  code: { version: string | null; files: Record<string, Digest> };
  /** Resolved params; `path` params inside the pipeline folder are written relative to it. */
  params: Record<string, Json>;
  /** Upstream instance id -> digest of its output manifest (content, not key). */
  inputs: Record<string, Digest>;
  /** External `path` inputs (label -> content digest, or "missing"). */
  external: Record<string, string>;
  seed: number;
  /** `kind.runtimeKey()` (e.g. the tensor backend), null when the kind has none. */
  runtime: Json;
}

/** Digest of an output manifest: what downstream keys see of an upstream run. */
export function outputsDigest(outputs: OutputManifest): Digest {
  const lines = Object.keys(outputs)
    .sort()
    .map((p) => `${p}\0${outputs[p]!.digest}\n`);
  return digestBytes(`dag-outputs-1\n${lines.join('')}`);
}

/** The cache key of a preimage. */
export function cacheKey(preimage: KeyPreimage): CacheKey {
  return sha256Hex(canonicalJson(preimage as unknown as Json)) as CacheKey;
}

/** One difference between the preimage a record was made with and the current one. */
export type KeyChange =
  | { field: 'schema'; old: number; new: number }
  | { field: 'kind'; old: string; new: string }
  | { field: 'code'; file: string; change: 'changed' | 'added' | 'removed' }
  | { field: 'version'; old: string | null; new: string | null }
  | { field: 'param'; name: string; old: Json | undefined; new: Json | undefined }
  | { field: 'input'; id: string; change: 'changed' | 'added' | 'removed' }
  | { field: 'external'; path: string; change: 'changed' | 'added' | 'removed' }
  | { field: 'seed'; old: number; new: number }
  | { field: 'runtime'; old: Json; new: Json };

function flattenParams(value: Json, prefix: string, out: Map<string, Json>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value);
  }
}

function diffMaps<T>(
  a: Record<string, T>,
  b: Record<string, T>,
  same: (x: T, y: T) => boolean,
  emit: (name: string, change: 'changed' | 'added' | 'removed') => void,
): void {
  for (const k of Object.keys(b).sort()) {
    if (!(k in a)) emit(k, 'added');
    else if (!same(a[k]!, b[k]!)) emit(k, 'changed');
  }
  for (const k of Object.keys(a).sort()) if (!(k in b)) emit(k, 'removed');
}

/** The fields that differ between an old and a new preimage, most informative first. */
export function diffPreimages(old: KeyPreimage, cur: KeyPreimage): KeyChange[] {
  const changes: KeyChange[] = [];
  if (old.schema !== cur.schema) changes.push({ field: 'schema', old: old.schema, new: cur.schema });
  if (old.kind !== cur.kind) changes.push({ field: 'kind', old: old.kind, new: cur.kind });
  const oldParams = new Map<string, Json>();
  const newParams = new Map<string, Json>();
  flattenParams(old.params, '', oldParams);
  flattenParams(cur.params, '', newParams);
  for (const name of new Set([...newParams.keys(), ...oldParams.keys()])) {
    const a = oldParams.get(name);
    const b = newParams.get(name);
    const same = a !== undefined && b !== undefined ? canonicalJson(a) === canonicalJson(b) : a === b;
    if (!same) changes.push({ field: 'param', name, old: a, new: b });
  }
  diffMaps(old.external, cur.external, (x, y) => x === y, (path, change) => changes.push({ field: 'external', path, change }));
  diffMaps(old.inputs, cur.inputs, (x, y) => x === y, (id, change) => changes.push({ field: 'input', id, change }));
  if (old.code.version !== cur.code.version) changes.push({ field: 'version', old: old.code.version, new: cur.code.version });
  diffMaps(old.code.files, cur.code.files, (x, y) => x === y, (file, change) => changes.push({ field: 'code', file, change }));
  if (old.seed !== cur.seed) changes.push({ field: 'seed', old: old.seed, new: cur.seed });
  if (canonicalJson(old.runtime) !== canonicalJson(cur.runtime)) changes.push({ field: 'runtime', old: old.runtime, new: cur.runtime });
  return changes;
}

function show(v: Json | undefined): string {
  if (v === undefined) return '(unset)';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One line for humans: `param epochs: 3 -> 5`, `upstream output changed: pretrain[source=a]`. */
export function describeChange(c: KeyChange): string {
  switch (c.field) {
    case 'schema':
      return `cache key schema ${c.old} -> ${c.new}`;
    case 'kind':
      return `stage kind ${c.old} -> ${c.new}`;
    case 'code':
      return `code ${c.change}: ${c.file}`;
    case 'version':
      return `kind version ${show(c.old)} -> ${show(c.new)}`;
    case 'param':
      return `param ${c.name}: ${show(c.old)} -> ${show(c.new)}`;
    case 'input':
      return c.change === 'changed' ? `upstream output changed: ${c.id}` : `upstream ${c.change}: ${c.id}`;
    case 'external':
      return c.change === 'changed' ? `input file changed: ${c.path}` : `input ${c.change}: ${c.path}`;
    case 'seed':
      return `seed ${c.old} -> ${c.new}`;
    case 'runtime':
      return `runtime ${show(c.old)} -> ${show(c.new)}`;
    default: {
      const never: never = c;
      throw new Error(`unhandled change ${JSON.stringify(never)}`);
    }
  }
}
