/**
 * Phase 1 of loading: the YAML tree -> a raw pipeline (plain values with the locations of
 * every key and value), checking the schema's shape: known keys (with did-you-mean), value
 * types, collection references and axis values. Cross-stage checks (kinds, needs, params)
 * happen in later phases that read this structure.
 */
import { isScalar, isSeq, type YAMLMap, type YAMLSeq } from 'yaml';
import type { AxisValue, Json } from '../core/contract.ts';
import type { Diagnostics } from './diagnostics.ts';
import { AXIS_VALUE_FORBIDDEN, formatAxisValue } from '../core/ids.ts';
import { parseExecutorBlock } from './executor-config.ts';
import type { ExecutorSettings, SourceLocation } from '../core/plan.ts';
import { asMap, asSeq, describeNode, type SourceFile } from './source.ts';
import { closest, didYouMean } from '../core/suggest.ts';

/** Top-level keys with a meaning; any other top-level key holding a map or list is a collection. */
export const TOP_LEVEL_KEYS = ['version', 'seed', 'cache', 'plugins', 'executor', 'stages'] as const;
/** Keys of one stage. */
export const STAGE_KEYS = ['uses', 'matrix', 'exclude', 'needs', 'params', 'resources', 'seed', 'executor'] as const;
/** Keys of the object form of a `needs` entry. */
export const NEED_KEYS = ['stage', 'where', 'as'] as const;
/** Keys of `resources`. */
export const RESOURCE_KEYS = ['gpu', 'cpu', 'memory_mb'] as const;
/** Keys of the object form of a matrix axis. */
export const AXIS_KEYS = ['from', 'only'] as const;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const AXIS_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A top-level collection (`datasets:`), usable as `$datasets` in a matrix. */
export interface RawCollection {
  name: string;
  loc: SourceLocation;
  node: YAMLMap | YAMLSeq;
  /** A map's keys become axis values and its entries are reachable as `${axis.field}`. */
  type: 'map' | 'list';
  /** Axis values it provides: the map's keys, or the list's scalar elements. */
  values: AxisValue[];
  valueLocs: SourceLocation[];
  /** Formatted axis value -> entry (plain JSON) and its node, for maps. */
  entries: Map<string, { value: Json; node: unknown }>;
}

/** A value list with the location of each value (matrix axes, where filters, exclude rules). */
export interface LocatedValues {
  values: AxisValue[];
  locs: SourceLocation[];
  loc: SourceLocation;
}

/** One matrix axis of a stage. */
export interface RawAxis extends LocatedValues {
  name: string;
  /** Location of the axis name. */
  nameLoc: SourceLocation;
  /** The collection the values come from (`$datasets`), which gives `${axis.field}` access. */
  collection?: RawCollection;
}

/** One `exclude` rule: axis -> values (any of). */
export interface RawExclude {
  loc: SourceLocation;
  /** Set when the rule names unknown axes or values (so "removes nothing" is not reported too). */
  broken?: boolean;
  rule: Map<string, LocatedValues & { nameLoc: SourceLocation }>;
}

/** One `needs` entry. */
export interface RawNeed {
  stage: string;
  loc: SourceLocation;
  stageLoc: SourceLocation;
  where: Map<string, LocatedValues & { nameLoc: SourceLocation }>;
  /** Upstream axis -> downstream axis. */
  as: Map<string, { to: string; nameLoc: SourceLocation; toLoc: SourceLocation }>;
  /** Set when `where` names unknown axes or values (so "matches nothing" is not reported too). */
  filterBroken?: boolean;
}

/** One stage as written. */
export interface RawStage {
  name: string;
  index: number;
  loc: SourceLocation;
  kind?: string;
  kindLoc: SourceLocation;
  axes: RawAxis[];
  excludes: RawExclude[];
  needs: RawNeed[];
  /** The `params:` map node (for locating values), absent when the stage has no params. */
  paramsNode?: YAMLMap;
  paramsLoc: SourceLocation;
  /** Key -> the value's node. */
  paramNodes: Map<string, { keyLoc: SourceLocation; value: unknown }>;
  resources: { gpu?: number; cpu?: number; memoryMb?: number };
  seed?: number;
  executor: ExecutorSettings;
  /**
   * True when part of the matrix could not be read (unknown collection, bad axis): the stage
   * is not expanded, so its problems are not followed by a cascade of follow-up errors.
   */
  incomplete: boolean;
  /** Axes whose values could not be read; filters naming them are not reported again. */
  brokenAxes: Set<string>;
}

/** The whole file after the shape checks. */
export interface RawPipeline {
  version: number;
  seed: number;
  cache: string;
  plugins: Array<{ spec: string; loc: SourceLocation }>;
  executor: ExecutorSettings;
  collections: Map<string, RawCollection>;
  stages: RawStage[];
}

/** Parse the document's top-level map into a RawPipeline, reporting shape problems. */
export function parseRaw(src: SourceFile, diag: Diagnostics): RawPipeline {
  const fileLoc: SourceLocation = { file: src.file, line: 1, col: 1 };
  const raw: RawPipeline = { version: 1, seed: 0, cache: 'cache', plugins: [], executor: {}, collections: new Map(), stages: [] };
  const root = src.deref(src.doc.contents);
  const top = asMap(root);
  if (top === undefined) {
    if (root !== null && root !== undefined) diag.error('SCHEMA_TYPE', `the pipeline file must be a map of keys (version, stages, collections...), found ${describeNode(root)}`, src.of(root, fileLoc));
    else if (src.doc.errors.length === 0) diag.error('MISSING_KEY', 'the pipeline file is empty; it needs at least a `stages:` map', fileLoc);
    return raw;
  }
  const entries = src.entries(top);
  let stagesEntry: (typeof entries)[number] | undefined;
  // Collections first: stages refer to them wherever they are declared in the file.
  for (const e of entries) {
    if ((TOP_LEVEL_KEYS as readonly string[]).includes(e.key)) continue;
    const v = src.deref(e.value);
    const keyLoc = src.of(e.keyNode, fileLoc);
    const m = asMap(v);
    const s = asSeq(v);
    if (m === undefined && s === undefined) {
      diag.error('UNKNOWN_KEY', `unknown top-level key '${e.key}'${didYouMean(e.key, TOP_LEVEL_KEYS)} (other top-level keys must hold a map or a list: a collection)`, keyLoc);
      continue;
    }
    raw.collections.set(e.key, parseCollection(src, diag, e.key, keyLoc, (m ?? s)!));
    // `plugin: [x.ts]` would silently become a collection: say so when the name is a near miss.
    const near = closest(e.key, TOP_LEVEL_KEYS);
    if (near !== undefined && near !== 'stages') {
      diag.warn('UNKNOWN_KEY', `top-level key '${e.key}' is read as a collection; did you mean '${near}'?`, keyLoc);
    }
  }
  for (const e of entries) {
    const keyLoc = src.of(e.keyNode, fileLoc);
    switch (e.key) {
      case 'version': {
        const v = src.js(e.value);
        if (v !== 1) diag.error('UNSUPPORTED_VERSION', `unsupported version ${JSON.stringify(v)}; the only pipeline schema version is 1`, src.of(src.deref(e.value), keyLoc));
        break;
      }
      case 'seed': {
        const v = integerValue(src, diag, e.value, keyLoc, 'seed');
        if (v !== undefined) raw.seed = v;
        break;
      }
      case 'cache': {
        const v = src.js(e.value);
        if (typeof v !== 'string' || v === '') diag.error('SCHEMA_TYPE', `'cache' must be a folder path (a string), found ${describeNode(src.deref(e.value))}`, src.of(src.deref(e.value), keyLoc));
        else raw.cache = v;
        break;
      }
      case 'plugins': {
        const v = src.deref(e.value);
        const seq = asSeq(v);
        if (seq === undefined) {
          diag.error('SCHEMA_TYPE', `'plugins' must be a list of module paths, found ${describeNode(v)}`, src.of(v, keyLoc));
          break;
        }
        for (const item of seq.items) {
          const n = src.deref(item);
          const loc = src.of(n, keyLoc);
          if (isScalar(n) && typeof n.value === 'string' && n.value !== '') raw.plugins.push({ spec: n.value, loc });
          else diag.error('SCHEMA_TYPE', `a plugin must be a module path (a string), found ${describeNode(n)}`, loc);
        }
        break;
      }
      case 'executor':
        raw.executor = parseExecutorBlock(src, diag, e.value, keyLoc);
        break;
      case 'stages':
        stagesEntry = e;
        break;
      default:
        break;
    }
  }
  if (stagesEntry === undefined) {
    const near = closest('stages', raw.collections.keys());
    const nearLoc = near === undefined ? undefined : raw.collections.get(near)?.loc;
    if (near !== undefined && nearLoc !== undefined) {
      diag.error('MISSING_KEY', `missing key 'stages'; did you mean 'stages' instead of '${near}'? ('${near}' is read as a collection)`, nearLoc);
    } else {
      diag.error('MISSING_KEY', "missing key 'stages' (a map of stage name -> stage)", fileLoc);
    }
    return raw;
  }
  const stagesKeyLoc = src.of(stagesEntry.keyNode, fileLoc);
  const stagesNode = src.deref(stagesEntry.value);
  const stagesMap = asMap(stagesNode);
  if (stagesMap === undefined) {
    diag.error('SCHEMA_TYPE', `'stages' must be a map of stage name -> stage, found ${describeNode(stagesNode)}`, src.of(stagesNode, stagesKeyLoc));
    return raw;
  }
  for (const e of src.entries(stagesMap)) {
    const loc = src.of(e.keyNode, stagesKeyLoc);
    // A repeated stage name is already reported by the YAML parser (DUPLICATE_KEY).
    if (raw.stages.some((s) => s.name === e.key)) continue;
    if (!NAME_RE.test(e.key)) {
      diag.error('BAD_NAME', `stage name '${e.key}' must start with a letter or _ and hold only letters, digits, _ and -`, loc);
      continue;
    }
    const st = parseStage(src, diag, raw, e.key, loc, e.value, raw.stages.length);
    if (st !== undefined) raw.stages.push(st);
  }
  return raw;
}

function integerValue(src: SourceFile, diag: Diagnostics, node: unknown, keyLoc: SourceLocation, what: string, min = -Infinity): number | undefined {
  const v = src.js(node);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    const bound = min === 0 ? 'a non-negative integer' : 'an integer';
    diag.error('SCHEMA_TYPE', `'${what}' must be ${bound}, found ${describeNode(src.deref(node))}`, src.of(src.deref(node), keyLoc));
    return undefined;
  }
  return v;
}

function axisValueOf(v: unknown): AxisValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

/** Check that a value can be an axis value (scalar, and no id delimiters in strings). */
function checkAxisValue(diag: Diagnostics, v: unknown, loc: SourceLocation, context: string): AxisValue | undefined {
  const a = axisValueOf(v);
  if (a === undefined) {
    diag.error('BAD_AXIS_VALUE', `${context}: an axis value must be a string, number or boolean, found ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a map' : String(v)}`, loc);
    return undefined;
  }
  if (typeof a === 'string' && (a === '' || AXIS_VALUE_FORBIDDEN.test(a))) {
    diag.error('BAD_AXIS_VALUE', `${context}: axis value ${JSON.stringify(a)} must be non-empty and contain no spaces, ',', '=', '[' or ']' (it becomes part of instance ids)`, loc);
    return undefined;
  }
  return a;
}

function parseCollection(src: SourceFile, diag: Diagnostics, name: string, loc: SourceLocation, node: YAMLMap | YAMLSeq): RawCollection {
  const c: RawCollection = { name, loc, node, type: isSeq(node) ? 'list' : 'map', values: [], valueLocs: [], entries: new Map() };
  if (isSeq(node)) {
    for (const item of node.items) {
      const n = src.deref(item);
      const v = src.js(n);
      const a = axisValueOf(v);
      // Only scalar lists can feed a matrix; a list of maps is fine as data reachable by ${name.0.x}.
      if (a === undefined) continue;
      c.values.push(a);
      c.valueLocs.push(src.of(n, loc));
    }
    return c;
  }
  for (const e of src.entries(node)) {
    const k = isScalar(e.keyNode) ? e.keyNode.value : e.key;
    const a = axisValueOf(k) ?? e.key;
    const kLoc = src.of(e.keyNode, loc);
    c.values.push(a);
    c.valueLocs.push(kLoc);
    c.entries.set(formatAxisValue(a), { value: src.js(e.value) as Json, node: src.deref(e.value) });
  }
  return c;
}

function collectionRef(src: SourceFile, diag: Diagnostics, raw: RawPipeline, text: string, loc: SourceLocation): RawCollection | undefined {
  const name = text.slice(1);
  const c = raw.collections.get(name);
  if (c === undefined) {
    diag.error('UNKNOWN_COLLECTION', `unknown collection '$${name}'${didYouMean(name, raw.collections.keys())} (collections are top-level keys holding a map or a list)`, loc);
  }
  return c;
}

/** A value or list of values (where / exclude), each checked as an axis value. */
function valueList(src: SourceFile, diag: Diagnostics, node: unknown, fallback: SourceLocation, context: string): LocatedValues {
  const n = src.deref(node);
  const loc = src.of(n, fallback);
  const out: LocatedValues = { values: [], locs: [], loc };
  const items = isSeq(n) ? n.items : [n];
  for (const item of items) {
    const it = src.deref(item);
    const l = src.of(it, loc);
    const a = checkAxisValue(diag, src.js(it), l, context);
    if (a !== undefined) {
      out.values.push(a);
      out.locs.push(l);
    }
  }
  return out;
}

function parseAxis(src: SourceFile, diag: Diagnostics, raw: RawPipeline, stage: string, name: string, nameLoc: SourceLocation, node: unknown): RawAxis | undefined {
  const n = src.deref(node);
  const loc = src.of(n, nameLoc);
  const axis: RawAxis = { name, nameLoc, values: [], locs: [], loc };
  const ctx = `axis '${name}' of stage '${stage}'`;
  const fromCollection = (c: RawCollection) => {
    axis.collection = c;
    c.values.forEach((v, i) => {
      const l = c.valueLocs[i] ?? c.loc;
      if (checkAxisValue(diag, v, l, `${ctx} (from $${c.name})`) !== undefined) {
        axis.values.push(v);
        axis.locs.push(l);
      }
    });
    if (c.type === 'list' && c.values.length !== (c.node as YAMLSeq).items.length) {
      diag.error('BAD_AXIS_VALUE', `${ctx}: collection '$${c.name}' holds non-scalar items; a matrix axis needs a list of strings, numbers or booleans, or a map`, loc);
    }
  };
  if (isScalar(n) && typeof n.value === 'string' && n.value.startsWith('$')) {
    const c = collectionRef(src, diag, raw, n.value, loc);
    if (c === undefined) return undefined;
    fromCollection(c);
  } else if (isSeq(n) || isScalar(n)) {
    const vals = valueList(src, diag, n, loc, ctx);
    axis.values = vals.values;
    axis.locs = vals.locs;
  } else {
    const m = asMap(n);
    if (m === undefined) {
      diag.error('SCHEMA_TYPE', `${ctx} must be a list of values, '$collection', or { from: $collection, only: [...] }; found ${describeNode(n)}`, loc);
      return undefined;
    }
    let from: RawCollection | undefined;
    let only: LocatedValues | undefined;
    let fromSeen = false;
    for (const e of src.entries(m)) {
      const kLoc = src.of(e.keyNode, loc);
      if (e.key === 'from') {
        fromSeen = true;
        const v = src.js(e.value);
        const vLoc = src.of(src.deref(e.value), kLoc);
        if (typeof v !== 'string' || !v.startsWith('$')) diag.error('SCHEMA_TYPE', `${ctx}: 'from' must name a collection as '$name', found ${describeNode(src.deref(e.value))}`, vLoc);
        else from = collectionRef(src, diag, raw, v, vLoc);
      } else if (e.key === 'only') {
        only = valueList(src, diag, e.value, kLoc, ctx);
      } else {
        diag.error('UNKNOWN_KEY', `unknown key '${e.key}' in ${ctx}${didYouMean(e.key, AXIS_KEYS)}`, kLoc);
      }
    }
    if (!fromSeen) diag.error('MISSING_KEY', `${ctx}: the map form needs 'from: $collection'`, loc);
    if (from === undefined) return undefined;
    if (only === undefined) {
      fromCollection(from);
    } else {
      axis.collection = from;
      const known = new Set(from.values.map(formatAxisValue));
      only.values.forEach((v, i) => {
        const l = only.locs[i] ?? only.loc;
        if (!known.has(formatAxisValue(v))) {
          diag.error('UNKNOWN_AXIS_VALUE', `${ctx}: '${formatAxisValue(v)}' is not in collection '$${from.name}'${didYouMean(formatAxisValue(v), known)}`, l);
        } else {
          axis.values.push(v);
          axis.locs.push(l);
        }
      });
    }
  }
  // Two values with the same id text would give two instances one id.
  const seen = new Map<string, number>();
  axis.values.forEach((v, i) => {
    const t = formatAxisValue(v);
    if (seen.has(t)) diag.error('DUPLICATE_AXIS_VALUE', `${ctx}: value '${t}' appears twice`, axis.locs[i] ?? loc);
    seen.set(t, i);
  });
  return axis;
}

function parseAxisFilter(
  src: SourceFile,
  diag: Diagnostics,
  node: unknown,
  fallback: SourceLocation,
  context: string,
): Map<string, LocatedValues & { nameLoc: SourceLocation }> | undefined {
  const n = src.deref(node);
  const m = asMap(n);
  if (m === undefined) {
    diag.error('SCHEMA_TYPE', `${context} must be a map of axis -> value or list of values, found ${describeNode(n)}`, src.of(n, fallback));
    return undefined;
  }
  const out = new Map<string, LocatedValues & { nameLoc: SourceLocation }>();
  for (const e of src.entries(m)) {
    const nameLoc = src.of(e.keyNode, fallback);
    out.set(e.key, { ...valueList(src, diag, e.value, nameLoc, `${context}, axis '${e.key}'`), nameLoc });
  }
  return out;
}

function parseNeed(src: SourceFile, diag: Diagnostics, stage: string, item: unknown, fallback: SourceLocation): RawNeed | undefined {
  const n = src.deref(item);
  const loc = src.of(n, fallback);
  if (isScalar(n) && typeof n.value === 'string') {
    return { stage: n.value, loc, stageLoc: loc, where: new Map(), as: new Map() };
  }
  const m = asMap(n);
  if (m === undefined) {
    diag.error('SCHEMA_TYPE', `a 'needs' entry of stage '${stage}' must be a stage name or { stage, where, as }, found ${describeNode(n)}`, loc);
    return undefined;
  }
  const need: RawNeed = { stage: '', loc, stageLoc: loc, where: new Map(), as: new Map() };
  for (const e of src.entries(m)) {
    const kLoc = src.of(e.keyNode, loc);
    switch (e.key) {
      case 'stage': {
        const v = src.js(e.value);
        const vLoc = src.of(src.deref(e.value), kLoc);
        if (typeof v !== 'string') diag.error('SCHEMA_TYPE', `'stage' in a need of '${stage}' must be a stage name, found ${describeNode(src.deref(e.value))}`, vLoc);
        else {
          need.stage = v;
          need.stageLoc = vLoc;
        }
        break;
      }
      case 'where':
        need.where = parseAxisFilter(src, diag, e.value, kLoc, `'where' of a need of stage '${stage}'`) ?? new Map();
        break;
      case 'as': {
        const am = asMap(src.deref(e.value));
        if (am === undefined) {
          diag.error('SCHEMA_TYPE', `'as' of a need of stage '${stage}' must map upstream axis -> axis of '${stage}', found ${describeNode(src.deref(e.value))}`, src.of(src.deref(e.value), kLoc));
          break;
        }
        for (const a of src.entries(am)) {
          const nameLoc = src.of(a.keyNode, kLoc);
          const to = src.js(a.value);
          const toLoc = src.of(src.deref(a.value), nameLoc);
          if (typeof to !== 'string') diag.error('SCHEMA_TYPE', `'as: { ${a.key}: ... }' must name an axis of stage '${stage}', found ${describeNode(src.deref(a.value))}`, toLoc);
          else need.as.set(a.key, { to, nameLoc, toLoc });
        }
        break;
      }
      default:
        diag.error('UNKNOWN_KEY', `unknown key '${e.key}' in a need of stage '${stage}'${didYouMean(e.key, NEED_KEYS)}`, kLoc);
    }
  }
  if (need.stage === '') {
    if (!src.entries(m).some((e) => e.key === 'stage')) diag.error('MISSING_KEY', `a need of stage '${stage}' lacks 'stage: <upstream stage name>'`, loc);
    return undefined;
  }
  return need;
}

function parseStage(src: SourceFile, diag: Diagnostics, raw: RawPipeline, name: string, loc: SourceLocation, node: unknown, index: number): RawStage | undefined {
  const n = src.deref(node);
  const m = asMap(n);
  if (m === undefined) {
    diag.error('SCHEMA_TYPE', `stage '${name}' must be a map with at least 'uses: <kind>', found ${describeNode(n)}`, src.of(n, loc));
    return undefined;
  }
  const st: RawStage = {
    name,
    index,
    loc,
    kindLoc: loc,
    axes: [],
    excludes: [],
    needs: [],
    paramsLoc: loc,
    paramNodes: new Map(),
    resources: {},
    executor: {},
    incomplete: false,
    brokenAxes: new Set(),
  };
  let excludeNode: { node: unknown; loc: SourceLocation } | undefined;
  for (const e of src.entries(m)) {
    const kLoc = src.of(e.keyNode, loc);
    const v = src.deref(e.value);
    // An unresolved alias is reported by the loader; checking its (missing) value would repeat it.
    if (v === undefined && e.value !== undefined && e.value !== null) continue;
    const vLoc = src.of(v, kLoc);
    const key = e.key as (typeof STAGE_KEYS)[number];
    if (!(STAGE_KEYS as readonly string[]).includes(key)) {
      diag.error('UNKNOWN_KEY', `unknown key '${e.key}' in stage '${name}'${didYouMean(e.key, STAGE_KEYS)}`, kLoc);
      continue;
    }
    switch (key) {
      case 'uses': {
        const k = src.js(v);
        if (typeof k !== 'string' || k === '') diag.error('SCHEMA_TYPE', `'uses' of stage '${name}' must name a stage kind, found ${describeNode(v)}`, vLoc);
        else {
          st.kind = k;
          st.kindLoc = vLoc;
        }
        break;
      }
      case 'matrix': {
        const mm = asMap(v);
        if (mm === undefined) {
          diag.error('SCHEMA_TYPE', `'matrix' of stage '${name}' must be a map of axis -> values, found ${describeNode(v)}`, vLoc);
          st.incomplete = true;
          break;
        }
        for (const a of src.entries(mm)) {
          const aLoc = src.of(a.keyNode, vLoc);
          if (!AXIS_NAME_RE.test(a.key)) {
            diag.error('BAD_NAME', `axis name '${a.key}' of stage '${name}' must start with a letter or _ and hold only letters, digits and _`, aLoc);
            st.incomplete = true;
            continue;
          }
          const axis = parseAxis(src, diag, raw, name, a.key, aLoc, a.value);
          if (axis !== undefined) st.axes.push(axis);
          else {
            st.incomplete = true;
            st.brokenAxes.add(a.key);
          }
        }
        break;
      }
      case 'exclude':
        excludeNode = { node: v, loc: vLoc };
        break;
      case 'needs': {
        const items = isSeq(v) ? v.items : [v];
        for (const item of items) {
          const need = parseNeed(src, diag, name, item, vLoc);
          if (need !== undefined) st.needs.push(need);
        }
        break;
      }
      case 'params': {
        if (v === null || (isScalar(v) && v.value === null)) break;
        const pm = asMap(v);
        if (pm === undefined) {
          diag.error('SCHEMA_TYPE', `'params' of stage '${name}' must be a map of param -> value, found ${describeNode(v)}`, vLoc);
          break;
        }
        st.paramsNode = pm;
        st.paramsLoc = kLoc;
        for (const p of src.entries(pm)) st.paramNodes.set(p.key, { keyLoc: src.of(p.keyNode, vLoc), value: src.deref(p.value) });
        break;
      }
      case 'resources': {
        const rm = asMap(v);
        if (rm === undefined) {
          diag.error('SCHEMA_TYPE', `'resources' of stage '${name}' must be a map (gpu, cpu, memory_mb), found ${describeNode(v)}`, vLoc);
          break;
        }
        for (const r of src.entries(rm)) {
          const rLoc = src.of(r.keyNode, vLoc);
          if (r.key === 'gpu' || r.key === 'cpu') {
            const x = integerValue(src, diag, r.value, rLoc, `resources.${r.key}`, 0);
            if (x !== undefined) st.resources[r.key] = x;
          } else if (r.key === 'memory_mb') {
            const x = src.js(r.value);
            if (typeof x !== 'number' || !(x >= 0)) diag.error('SCHEMA_TYPE', `'resources.memory_mb' must be a non-negative number, found ${describeNode(src.deref(r.value))}`, src.of(src.deref(r.value), rLoc));
            else st.resources.memoryMb = x;
          } else {
            diag.error('UNKNOWN_KEY', `unknown key '${r.key}' in resources of stage '${name}'${didYouMean(r.key, RESOURCE_KEYS)}`, rLoc);
          }
        }
        break;
      }
      case 'seed': {
        const x = integerValue(src, diag, v, kLoc, `seed' of stage '${name}`);
        if (x !== undefined) st.seed = x;
        break;
      }
      case 'executor':
        st.executor = parseExecutorBlock(src, diag, v, kLoc, name);
        break;
      default: {
        const never: never = key;
        throw new Error(`bug: unhandled stage key ${String(never)}`);
      }
    }
  }
  if (st.kind === undefined && !src.entries(m).some((e) => e.key === 'uses')) {
    diag.error('MISSING_KEY', `stage '${name}' lacks 'uses: <kind>'`, loc);
  }
  // Exclude rules are parsed after the matrix so their axes can be checked wherever they appear.
  if (excludeNode !== undefined) {
    const items = isSeq(excludeNode.node) ? excludeNode.node.items : [excludeNode.node];
    for (const item of items) {
      const it = src.deref(item);
      const rule = parseAxisFilter(src, diag, it, excludeNode.loc, `an 'exclude' rule of stage '${name}'`);
      if (rule !== undefined) st.excludes.push({ loc: src.of(it, excludeNode.loc), rule });
    }
  }
  return st;
}

/**
 * Report filter axes that are not axes of `axes`, and values not among the axis values.
 * Returns false when the filter names anything unknown (its matches would be meaningless).
 */
export function checkFilter(
  diag: Diagnostics,
  filter: Map<string, LocatedValues & { nameLoc: SourceLocation }>,
  axes: readonly RawAxis[],
  context: string,
  stageName: string,
  brokenAxes: ReadonlySet<string> = new Set(),
): boolean {
  let ok = true;
  for (const [axisName, vals] of filter) {
    const axis = axes.find((a) => a.name === axisName);
    if (brokenAxes.has(axisName)) {
      ok = false;
      continue;
    }
    if (axis === undefined) {
      ok = false;
      const names = axes.map((a) => a.name);
      diag.error('UNKNOWN_AXIS', `${context}: stage '${stageName}' has no axis '${axisName}'${didYouMean(axisName, names)}${names.length > 0 ? ` (axes: ${names.join(', ')})` : ' (it has no matrix)'}`, vals.nameLoc);
      continue;
    }
    const known = new Set(axis.values.map(formatAxisValue));
    vals.values.forEach((v, i) => {
      const t = formatAxisValue(v);
      if (!known.has(t)) {
        ok = false;
        diag.error('UNKNOWN_AXIS_VALUE', `${context}: '${t}' is not a value of axis '${axisName}' of stage '${stageName}'${didYouMean(t, known)} (values: ${[...known].join(', ')})`, vals.locs[i] ?? vals.loc);
      }
    });
  }
  return ok;
}

