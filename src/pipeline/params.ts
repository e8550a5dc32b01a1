/**
 * Stage params per instance: `${...}` interpolation from the instance's axes and the
 * collections, defaults from the kind's ParamSpec, type checks, and `path` params made
 * absolute. Problems are returned with the param path; the loader maps a path back to the
 * exact YAML node lazily (only when there is a problem, so the happy path stays fast).
 */
import { isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import type { AxisValue, Json, ParamSpec } from '../core/contract.ts';
import type { ConfigErrorCode } from './errors.ts';
import { formatAxisValue } from '../core/ids.ts';
import type { RawAxis, RawCollection, RawStage } from './parse.ts';
import type { SourceLocation } from '../core/plan.ts';
import { describeValue, type SourceFile } from './source.ts';
import { didYouMean } from '../core/suggest.ts';

/** What `${...}` references can see while resolving one instance. */
export interface ParamScope {
  stage: RawStage;
  axes: Readonly<Record<string, AxisValue>>;
  axisByName: ReadonlyMap<string, RawAxis>;
  collections: ReadonlyMap<string, RawCollection>;
}

/** A param path: top-level param name, then object keys / array indices. */
export type ParamPath = ReadonlyArray<string | number>;

/** One problem in one instance's params. */
export interface ParamIssue {
  code: ConfigErrorCode;
  path: ParamPath;
  message: string;
  severity?: 'error' | 'warning';
  /** Point at the key of the value rather than the value (unknown params). */
  atKey?: boolean;
}

/** A `path` param that must exist, to be checked by the loader (once per distinct path). */
export interface PathCheck {
  path: ParamPath;
  abs: string;
  mustExist: 'file' | 'dir' | 'any';
}

/** The resolved params of one instance. */
export interface ResolvedParams {
  params: Record<string, Json>;
  externalPaths: string[];
  pathChecks: PathCheck[];
  issues: ParamIssue[];
}

const WHOLE_REF = /^\$\{([^{}]*)\}$/;
const ANY_REF = /\$\$\{|\$\{([^{}]*)\}/g;

/** `a.b.0` -> ['a', 'b', '0'] (array indices stay strings until they meet a list). */
function splitRef(text: string): string[] {
  return text.trim().split('.');
}

/** A resolved reference, or why not; `missing` marks a field/item that does not exist (what `?` forgives). */
type RefResult = { ok: true; value: Json } | { ok: false; message: string; missing?: boolean };

/** Marks a value that an optional reference (`${dataset.x?}`) left out. */
const OMIT: unique symbol = Symbol('omit');
type Resolved = Json | typeof OMIT;

function walkJson(value: Json, segs: readonly string[], what: string): RefResult {
  let cur: Json = value;
  let where = what;
  for (const s of segs) {
    if (Array.isArray(cur)) {
      const i = Number(s);
      const next = Number.isInteger(i) ? cur[i] : undefined;
      if (next === undefined) return { ok: false, missing: true, message: `${where} has no item ${s} (it has ${cur.length})` };
      cur = next;
    } else if (cur !== null && typeof cur === 'object') {
      const next: Json | undefined = Object.prototype.hasOwnProperty.call(cur, s) ? cur[s] : undefined;
      if (next === undefined) return { ok: false, missing: true, message: `${where} has no field '${s}'${didYouMean(s, Object.keys(cur))}` };
      cur = next;
    } else {
      return { ok: false, message: `${where} is ${describeValue(cur)}, which has no field '${s}'` };
    }
    where = `${where}.${s}`;
  }
  return { ok: true, value: cur };
}

/** Resolve one reference `axis`, `axis.field.sub` or `collection.key.field`. */
export function resolveRef(ref: string, scope: ParamScope): RefResult {
  const segs = splitRef(ref);
  const [head, ...rest] = segs;
  if (head === undefined || head === '') return { ok: false, message: `empty reference '\${${ref}}'` };
  const axisValue = scope.axes[head];
  if (axisValue !== undefined) {
    if (rest.length === 0) return { ok: true, value: axisValue };
    const axis = scope.axisByName.get(head);
    const coll = axis?.collection;
    if (coll === undefined || coll.type !== 'map') {
      return { ok: false, message: `'\${${ref}}': axis '${head}' takes its values from ${coll ? `list '$${coll.name}'` : 'an inline list'}, so its values have no fields (use a map collection, e.g. 'matrix: { ${head}: $${head}s }')` };
    }
    const entry = coll.entries.get(formatAxisValue(axisValue));
    if (entry === undefined) throw new Error(`bug: axis value ${String(axisValue)} missing from collection ${coll.name}`);
    return walkJson(entry.value, rest, `${coll.name}.${formatAxisValue(axisValue)}`);
  }
  const coll = scope.collections.get(head);
  if (coll !== undefined) {
    const whole: Json = coll.type === 'map' ? Object.fromEntries([...coll.entries].map(([k, e]) => [k, e.value])) : (coll.node.toJSON() as Json);
    return walkJson(whole, rest, head);
  }
  const names = [...Object.keys(scope.axes), ...scope.collections.keys()];
  return {
    ok: false,
    message: `'\${${ref}}' names no axis of stage '${scope.stage.name}' nor a collection${didYouMean(head, names)}${Object.keys(scope.axes).length > 0 ? ` (axes: ${Object.keys(scope.axes).join(', ')})` : ''}`,
  };
}

function stringify(v: Json): string {
  if (typeof v === 'string') return v;
  if (v === null || typeof v !== 'object') return String(v);
  return JSON.stringify(v);
}

function cloneJson(v: Json): Json {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneJson);
  const out: Record<string, Json> = {};
  for (const k of Object.keys(v)) out[k] = cloneJson(v[k] as Json);
  return out;
}

/**
 * Interpolate `${...}` in a raw param value. A string that is exactly one reference takes the
 * referenced value with its JSON type; references inside longer strings are stringified;
 * `$${` is a literal `${`. A reference ending in `?` (`${dataset.options?}`) tolerates a
 * missing field: a whole-string value is then left out (so the kind's default applies) and
 * an embedded one becomes the empty string. Unknown axes are errors even with `?`.
 */
export function interpolate(value: Json, scope: ParamScope, path: ParamPath, issues: ParamIssue[]): Json {
  const r = interpolateValue(value, scope, path, issues);
  return r === OMIT ? null : r;
}

function optionalRef(ref: string): { ref: string; optional: boolean } {
  const t = ref.trim();
  return t.endsWith('?') ? { ref: t.slice(0, -1), optional: true } : { ref: t, optional: false };
}

/** For a missing field: how to make the reference optional (entries of a collection may differ). */
function optionalHint(ref: string, r: { missing?: boolean }): string {
  return r.missing === true ? ` (write \${${ref}?} if only some entries have it)` : '';
}

function interpolateValue(value: Json, scope: ParamScope, path: ParamPath, issues: ParamIssue[]): Resolved {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const whole = WHOLE_REF.exec(value);
    if (whole !== null && whole[1] !== undefined) {
      const { ref, optional } = optionalRef(whole[1]);
      const r = resolveRef(ref, scope);
      if (!r.ok) {
        if (optional && r.missing === true) return OMIT;
        issues.push({ code: 'BAD_REFERENCE', path, message: r.message + optionalHint(ref, r) });
        return value;
      }
      return cloneJson(r.value);
    }
    let failed = false;
    const out = value.replace(ANY_REF, (m, text: string | undefined) => {
      if (m === '$${') return '${';
      const { ref, optional } = optionalRef(text ?? '');
      const r = resolveRef(ref, scope);
      if (!r.ok) {
        if (optional && r.missing === true) return '';
        failed = true;
        issues.push({ code: 'BAD_REFERENCE', path, message: r.message + optionalHint(ref, r) });
        return m;
      }
      return stringify(r.value);
    });
    if (!failed && /\$\{(?![^{}]*\})/.test(value.replace(ANY_REF, ''))) {
      issues.push({ code: 'BAD_REFERENCE', path, message: `unterminated reference in ${JSON.stringify(value)} (write \${name}, or $\${ for a literal)` });
    }
    return out;
  }
  if (Array.isArray(value)) {
    const out: Json[] = [];
    value.forEach((v, i) => {
      const r = interpolateValue(v, scope, [...path, i], issues);
      if (r !== OMIT) out.push(r);
    });
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(value)) {
      const r = interpolateValue(value[k] as Json, scope, [...path, k], issues);
      if (r !== OMIT) out[k] = r;
    }
    return out;
  }
  return value;
}

function typeName(spec: ParamSpec): string {
  switch (spec.type) {
    case 'string':
      return spec.enum ? `one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}` : 'a string';
    case 'number': {
      const base = spec.integer ? 'an integer' : 'a number';
      const bounds = [spec.min !== undefined ? `>= ${spec.min}` : '', spec.max !== undefined ? `<= ${spec.max}` : ''].filter((s) => s !== '');
      return bounds.length > 0 ? `${base} ${bounds.join(' and ')}` : base;
    }
    case 'boolean':
      return 'a boolean';
    case 'path':
      return 'a path (a string)';
    case 'array':
      return `a list of ${typeName(spec.items).replace(/^(a|an|one of) /, '')}s`.replace(/ss$/, 's');
    case 'object':
      return 'a map';
    case 'any':
      return 'any value';
    default: {
      const never: never = spec;
      throw new Error(`bug: unknown param type ${JSON.stringify(never)}`);
    }
  }
}

function showPath(path: ParamPath): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}

interface CheckCtx {
  dir: string;
  issues: ParamIssue[];
  externalPaths: string[];
  pathChecks: PathCheck[];
}

/** Check `value` against `spec`, returning the normalised value (defaults, absolute paths). */
function checkValue(spec: ParamSpec, value: Json, path: ParamPath, ctx: CheckCtx): Json {
  const bad = (): Json => {
    ctx.issues.push({ code: 'PARAM_TYPE', path, message: `param '${showPath(path)}' must be ${typeName(spec)}, found ${describeValue(value)}` });
    return value;
  };
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') return bad();
      if (spec.enum !== undefined && !spec.enum.includes(value)) {
        ctx.issues.push({ code: 'PARAM_TYPE', path, message: `param '${showPath(path)}' must be ${typeName(spec)}, found ${describeValue(value)}${didYouMean(value, spec.enum)}` });
      }
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad();
      if ((spec.integer === true && !Number.isInteger(value)) || (spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) return bad();
      return value;
    case 'boolean':
      return typeof value === 'boolean' ? value : bad();
    case 'path': {
      if (typeof value !== 'string' || value === '') return bad();
      const abs = isAbsolute(value) ? value : resolve(ctx.dir, value);
      ctx.externalPaths.push(abs);
      if (spec.mustExist !== undefined) ctx.pathChecks.push({ path, abs, mustExist: spec.mustExist });
      return abs;
    }
    case 'array':
      if (!Array.isArray(value)) return bad();
      return value.map((v, i) => checkValue(spec.items, v, [...path, i], ctx));
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad();
      if (spec.properties === undefined) return value;
      return checkObject(spec.properties, spec.additional === true, value, path, ctx);
    }
    case 'any':
      return value;
    default: {
      const never: never = spec;
      throw new Error(`bug: unknown param type ${JSON.stringify(never)}`);
    }
  }
}

function checkObject(
  specs: Readonly<Record<string, ParamSpec>>,
  additional: boolean,
  value: Record<string, Json>,
  path: ParamPath,
  ctx: CheckCtx,
  skip?: ReadonlySet<string>,
): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const v = value[name];
    if (skip?.has(name) === true && v !== undefined) {
      out[name] = v;
      continue;
    }
    if (v === undefined) {
      if (spec.default !== undefined) out[name] = checkValue(spec, cloneJson(spec.default as Json), [...path, name], ctx);
      else if (spec.required === true) {
        ctx.issues.push({ code: 'PARAM_REQUIRED', path, message: `missing required param '${showPath([...path, name])}' (${typeName(spec)}: ${spec.doc})` });
      }
      continue;
    }
    out[name] = checkValue(spec, v, [...path, name], ctx);
  }
  for (const k of Object.keys(value)) {
    if (specs[k] !== undefined) continue;
    if (!additional) {
      const where = path.length === 0 ? 'this stage kind' : `'${showPath(path)}'`;
      ctx.issues.push({ code: 'PARAM_UNKNOWN', atKey: true, path: [...path, k], message: `unknown param '${showPath([...path, k])}' for ${where}${didYouMean(k, Object.keys(specs))} (known: ${Object.keys(specs).join(', ') || 'none'})` });
    } else out[k] = value[k] as Json;
  }
  return out;
}

/**
 * Resolve one instance's params: interpolate the raw values, apply the kind's defaults,
 * check every value against its spec and make `path` params absolute (relative to `dir`).
 */
export function resolveStageParams(rawParams: Readonly<Record<string, Json>>, specs: Readonly<Record<string, ParamSpec>>, scope: ParamScope, dir: string): ResolvedParams {
  const issues: ParamIssue[] = [];
  const interpolated: Record<string, Json> = {};
  for (const k of Object.keys(rawParams)) {
    const r = interpolateValue(rawParams[k] as Json, scope, [k], issues);
    if (r !== OMIT) interpolated[k] = r;
  }
  const ctx: CheckCtx = { dir, issues, externalPaths: [], pathChecks: [] };
  // Type checks on values whose references failed would only repeat the reference error.
  const skip = new Set(issues.map((i) => String(i.path[0])));
  const params = checkObject(specs, false, interpolated, [], ctx, skip);
  return { params, externalPaths: ctx.externalPaths, pathChecks: ctx.pathChecks, issues };
}

/** Where a param value sits in the file, and whether a `${...}` reference was followed to get there. */
export interface ParamLocation {
  loc: SourceLocation;
  /** The reference followed (`dataset.size`), when the value came from a collection. */
  via?: string;
}

function childNode(src: SourceFile, node: unknown, seg: string | number, key = false): unknown {
  const n = src.deref(node);
  if (isMap(n)) {
    for (const e of src.entries(n)) if (e.key === String(seg)) return key ? e.keyNode : src.deref(e.value);
    return undefined;
  }
  if (isSeq(n)) return src.deref(n.items[Number(seg)]);
  return undefined;
}

/** The YAML node a whole-string reference points at (a collection field or an axis value). */
function refNode(src: SourceFile, ref: string, scope: ParamScope): unknown {
  const [head, ...rest] = splitRef(ref);
  if (head === undefined) return undefined;
  let node: unknown;
  const axisValue = scope.axes[head];
  if (axisValue !== undefined) {
    const axis = scope.axisByName.get(head);
    if (rest.length === 0) {
      // Point at the axis value where it was declared (matrix list or collection key).
      const i = axis?.values.findIndex((v) => formatAxisValue(v) === formatAxisValue(axisValue)) ?? -1;
      const loc = i >= 0 ? axis?.locs[i] : undefined;
      return loc === undefined ? undefined : { __loc: loc };
    }
    node = axis?.collection?.entries.get(formatAxisValue(axisValue))?.node;
  } else {
    node = scope.collections.get(head)?.node;
  }
  for (const s of rest) {
    if (node === undefined) return undefined;
    node = childNode(src, node, s);
  }
  return node;
}

/**
 * Locate the value at `path` of a stage's params for one instance, following whole-string
 * references into collections so a bad `size: ${dataset.size}` points at the dataset's field.
 * With `atKey`, the last step points at the key instead of its value.
 */
export function locateParam(src: SourceFile, stage: RawStage, path: ParamPath, scope: ParamScope, atKey = false): ParamLocation {
  const top = path[0] === undefined ? undefined : stage.paramNodes.get(String(path[0]));
  if (top === undefined) return { loc: stage.paramsLoc };
  if (atKey && path.length === 1) return { loc: top.keyLoc };
  let node: unknown = top.value;
  let loc = src.of(node, top.keyLoc);
  let via: string | undefined;
  const follow = () => {
    const n = src.deref(node);
    if (isScalar(n) && typeof n.value === 'string') {
      const m = WHOLE_REF.exec(n.value);
      if (m !== null && m[1] !== undefined) {
        const target = refNode(src, m[1], scope);
        if (target !== undefined && target !== null) {
          via = m[1].trim();
          const direct = (target as { __loc?: SourceLocation }).__loc;
          if (direct !== undefined) {
            loc = direct;
            node = undefined;
          } else {
            node = target;
            loc = src.of(target, loc);
          }
        }
      }
    }
  };
  follow();
  const rest = path.slice(1);
  for (const [i, seg] of rest.entries()) {
    if (node === undefined) break;
    const next = childNode(src, node, seg, atKey && i === rest.length - 1);
    if (next === undefined) break;
    node = next;
    loc = src.of(next, loc);
    follow();
  }
  return via === undefined ? { loc } : { loc, via };
}
