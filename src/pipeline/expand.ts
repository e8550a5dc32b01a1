/**
 * Expanding stages into instances: the matrix product minus excludes, each point's params
 * resolved against the kind's specs (with every problem located in the file), and `path`
 * params checked on disk.
 */
import { existsSync, statSync } from 'node:fs';
import type { AxisValue, Json } from '../core/contract.ts';
import { formatAxisValue, instanceId } from '../core/ids.ts';
import type { LoadedKind } from '../core/plan.ts';
import type { Diagnostics } from './diagnostics.ts';
import { locateParam, resolveStageParams, type ParamScope } from './params.ts';
import type { RawAxis, RawPipeline, RawStage } from './parse.ts';
import type { SourceFile } from './source.ts';

/** One expanded instance before params and deps are attached. */
export interface Point {
  id: string;
  axes: Record<string, AxisValue>;
}

/**
 * Cartesian product of the axes in declaration order (last axis varies fastest), minus
 * excludes. With `diag` undefined nothing is reported (used for incomplete stages).
 */
export function expandStage(st: RawStage, diag: Diagnostics | undefined): Point[] {
  const order = st.axes.map((a) => a.name);
  const rules = st.excludes.map((r) => ({
    rule: [...r.rule].map(([axis, v]) => ({ axis, set: new Set(v.values.map(formatAxisValue)) })),
    hits: 0,
    loc: r.loc,
    broken: r.broken === true,
  }));
  const points: Point[] = [];
  const cur: Record<string, AxisValue> = {};
  const rec = (i: number): void => {
    const axis = st.axes[i];
    if (axis === undefined) {
      for (const r of rules) {
        if (r.rule.every(({ axis: a, set }) => cur[a] !== undefined && set.has(formatAxisValue(cur[a]!)))) {
          r.hits++;
          return;
        }
      }
      const axes = { ...cur };
      points.push({ id: instanceId(st.name, axes, order), axes });
      return;
    }
    for (const v of axis.values) {
      cur[axis.name] = v;
      rec(i + 1);
    }
  };
  rec(0);
  if (diag === undefined) return points;
  for (const r of rules) {
    if (r.hits === 0 && r.rule.length > 0 && !r.broken) diag.warn('EXCLUDE_MATCHES_NOTHING', `this exclude rule of stage '${st.name}' removes no instance`, r.loc);
  }
  if (points.length === 0) {
    diag.warn('EMPTY_STAGE', `stage '${st.name}' has no instances (an axis has no values, or every combination is excluded)`, st.loc);
  }
  return points;
}

/** Expand list-valued exclude rules into single-valued ones (the StageDecl form). */
export function flatExcludes(st: RawStage): Array<Record<string, AxisValue>> {
  const out: Array<Record<string, AxisValue>> = [];
  for (const r of st.excludes) {
    let acc: Array<Record<string, AxisValue>> = [{}];
    for (const [axis, v] of r.rule) acc = acc.flatMap((p) => v.values.map((x) => ({ ...p, [axis]: x })));
    out.push(...acc);
  }
  return out;
}

/** What resolving one instance's params gave: the values and the external paths they name. */
export interface ResolvedParams {
  params: Record<string, Json>;
  externalPaths: string[];
}

/**
 * Every stage's instances (complete stages only: an incomplete one is expanded just to check
 * its params) and every instance's resolved params; problems go to `diag`.
 */
export function expandInstances(
  raw: RawPipeline,
  kinds: ReadonlyMap<string, LoadedKind>,
  src: SourceFile,
  dir: string,
  diag: Diagnostics,
): { points: Map<string, Point[]>; resolved: Map<string, ResolvedParams> } {
  const points = new Map<string, Point[]>();
  const resolved = new Map<string, ResolvedParams>();
  const pathCache = new Map<string, string | null>();
  for (const st of raw.stages) {
    // An incomplete stage (bad matrix) is expanded over its readable axes only to check its
    // params; it takes no part in matching, and reference errors there would be follow-ups.
    const pts = expandStage(st, st.incomplete ? undefined : diag);
    if (!st.incomplete) points.set(st.name, pts);
    const kind = st.kind === undefined ? undefined : kinds.get(st.kind);
    if (kind === undefined) continue;
    const rawParams: Record<string, Json> = {};
    for (const [k, v] of st.paramNodes) rawParams[k] = src.js(v.value) as Json;
    const axisByName = new Map<string, RawAxis>(st.axes.map((a) => [a.name, a]));
    for (const p of pts) {
      const scope: ParamScope = { stage: st, axes: p.axes, axisByName, collections: raw.collections };
      const r = resolveStageParams(rawParams, kind.kind.params, scope, dir);
      for (const issue of r.issues) {
        if (st.incomplete && issue.code === 'BAD_REFERENCE') continue;
        const where = locateParam(src, st, issue.path, scope, issue.atKey === true);
        const msg = `stage '${st.name}' (kind ${st.kind}): ${issue.message}${where.via !== undefined ? ` (value from \${${where.via}})` : ''}`;
        const sev = issue.severity ?? 'error';
        if (where.via !== undefined || issue.code === 'BAD_REFERENCE') diag.forInstance(sev, issue.code, msg, where.loc, p.id);
        else if (sev === 'error') diag.error(issue.code, msg, where.loc);
        else diag.warn(issue.code, msg, where.loc);
      }
      for (const c of r.pathChecks) {
        const problem = describePathProblem(c.abs, c.mustExist, pathCache);
        if (problem === null) continue;
        const where = locateParam(src, st, c.path, scope);
        diag.forInstance('warning', 'PATH_MISSING', `stage '${st.name}': path param '${c.path.join('.')}' = ${c.abs} ${problem}; the instance cannot run until it does`, where.loc, p.id);
      }
      for (const f of kind.kind.requiredFiles?.(r.params) ?? []) {
        r.externalPaths.push(f.path);
        if (existsSync(f.path)) continue;
        const where = locateParam(src, st, [f.param], scope);
        diag.forInstance('warning', 'PATH_MISSING', `stage '${st.name}': ${f.path} does not exist (${f.why}); the instance cannot run until it does`, where.loc, p.id);
      }
      resolved.set(p.id, { params: r.params, externalPaths: r.externalPaths });
    }
  }
  return { points, resolved };
}

/** Why a `path` param's target is unusable (`does not exist`, ...), or null; memoised in `cache`. */
function describePathProblem(abs: string, mustExist: 'file' | 'dir' | 'any', cache: Map<string, string | null>): string | null {
  const key = `${mustExist}:${abs}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let problem: string | null = null;
  if (!existsSync(abs)) problem = 'does not exist';
  else if (mustExist !== 'any') {
    const isDir = statSync(abs).isDirectory();
    if (mustExist === 'dir' && !isDir) problem = 'is not a folder';
    if (mustExist === 'file' && isDir) problem = 'is a folder, not a file';
  }
  cache.set(key, problem);
  return problem;
}

