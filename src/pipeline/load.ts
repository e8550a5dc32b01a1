/**
 * `loadPipeline`: pipeline.yaml -> a validated, expanded Plan, or every configuration problem
 * found in the file at once (YAML syntax, schema, kinds, references, params, cycles), each
 * with file:line:col. This is the only entry point the CLI and executor need from pipeline/.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, visit } from 'yaml';
import type { AxisValue, Json } from '../executor/contract.ts';
import { stageGraphFromDecls } from '../graph/build.ts';
import { findStageCycles } from '../graph/cycles.ts';
import { topologicalOrder } from '../graph/order.ts';
import { Diagnostics } from './diagnostics.ts';
import { compareConfigErrors, type ConfigError } from './errors.ts';
import { formatAxisValue, instanceId } from './ids.ts';
import { loadStageKinds } from './kinds.ts';
import { locateParam, resolveParams, type ParamScope } from './params.ts';
import { checkFilter, parseRaw, type RawAxis, type RawPipeline, type RawStage } from './parse.ts';
import type { Instance, LoadedKind, NeedDecl, Plan, StageDecl } from './plan.ts';
import { SourceFile } from './source.ts';
import { didYouMean } from './suggest.ts';

/** Re-exported for `dag kinds`, which lists the kinds without loading a pipeline. */
export { loadStageKinds } from './kinds.ts';

/**
 * The outcome of loading: a plan plus warnings (e.g. PATH_MISSING), or every problem found.
 * On failure `errors` holds the errors first, then the warnings (severity tells them apart).
 */
export type LoadResult = { ok: true; plan: Plan; warnings: ConfigError[] } | { ok: false; errors: ConfigError[] };

/** Options of loadPipeline. */
export interface LoadPipelineOptions {
  /** Folder of built-in stage kinds (default `<project root>/stages`); tests point it at fixtures. */
  stagesDir?: string;
}

/** One expanded instance before params and deps are attached. */
interface Point {
  id: string;
  axes: Record<string, AxisValue>;
}

/**
 * Cartesian product of the axes in declaration order (last axis varies fastest), minus
 * excludes. With `diag` undefined nothing is reported (used for incomplete stages).
 */
function expandStage(st: RawStage, diag: Diagnostics | undefined): Point[] {
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
function flatExcludes(st: RawStage): Array<Record<string, AxisValue>> {
  const out: Array<Record<string, AxisValue>> = [];
  for (const r of st.excludes) {
    let acc: Array<Record<string, AxisValue>> = [{}];
    for (const [axis, v] of r.rule) acc = acc.flatMap((p) => v.values.map((x) => ({ ...p, [axis]: x })));
    out.push(...acc);
  }
  return out;
}

/** Check kinds, needs and exclude references of every stage. */
function checkReferences(raw: RawPipeline, kinds: ReadonlyMap<string, LoadedKind>, diag: Diagnostics): void {
  const byName = new Map(raw.stages.map((s) => [s.name, s]));
  for (const st of raw.stages) {
    if (st.kind !== undefined && !kinds.has(st.kind)) {
      const known = [...kinds.keys()].sort();
      diag.error('UNKNOWN_KIND', `unknown stage kind '${st.kind}' in stage '${st.name}'${didYouMean(st.kind, known)} (known kinds: ${known.join(', ') || 'none'})`, st.kindLoc);
    }
    for (const ex of st.excludes) {
      if (!checkFilter(diag, ex.rule, st.axes, `exclude rule of stage '${st.name}'`, st.name, st.brokenAxes)) ex.broken = true;
    }
    for (const need of st.needs) {
      const up = byName.get(need.stage);
      if (up === undefined) {
        diag.error('UNKNOWN_STAGE', `stage '${st.name}' needs unknown stage '${need.stage}'${didYouMean(need.stage, byName.keys())}`, need.stageLoc);
        continue;
      }
      if (!checkFilter(diag, need.where, up.axes, `'where' of need '${need.stage}' of stage '${st.name}'`, up.name, up.brokenAxes)) need.filterBroken = true;
      for (const [from, { to, nameLoc, toLoc }] of need.as) {
        if (up.brokenAxes.has(from) || st.brokenAxes.has(to)) continue;
        if (!up.axes.some((a) => a.name === from)) {
          diag.error('UNKNOWN_AXIS', `'as' of need '${need.stage}' of stage '${st.name}': stage '${up.name}' has no axis '${from}'${didYouMean(from, up.axes.map((a) => a.name))}`, nameLoc);
        }
        if (!st.axes.some((a) => a.name === to)) {
          diag.error('UNKNOWN_AXIS', `'as' of need '${need.stage}' of stage '${st.name}': stage '${st.name}' has no axis '${to}'${didYouMean(to, st.axes.map((a) => a.name))}`, toLoc);
        }
      }
    }
  }
}

/** Report every cycle of stages, naming each `needs` edge at its location. Returns true if any. */
function checkCycles(raw: RawPipeline, diag: Diagnostics): boolean {
  const graph = stageGraphFromDecls(raw.stages);
  const cycles = findStageCycles(graph);
  for (const c of cycles) {
    const chain = [...c.stages, c.stages[0]].join(' -> ');
    const [first, ...rest] = c.edges;
    if (first === undefined) continue;
    diag.error(
      'CYCLE',
      c.stages.length === 1
        ? `stage '${first.stage}' needs itself`
        : `stages form a cycle through 'needs': ${chain}; '${first.stage}' needs '${first.needs}' here`,
      first.loc,
      rest.map((e) => ({ message: `'${e.stage}' needs '${e.needs}' here`, loc: e.loc })),
    );
  }
  return cycles.length > 0;
}

/** Compute each instance's deps for every need; reports needs that match nothing at all. */
function matchNeeds(raw: RawPipeline, points: ReadonlyMap<string, Point[]>, diag: Diagnostics): Map<string, string[]> {
  const byName = new Map(raw.stages.map((s) => [s.name, s]));
  const deps = new Map<string, string[]>();
  for (const st of raw.stages) {
    const downs = points.get(st.name);
    if (downs === undefined || downs.length === 0) continue;
    // [stage declaration index, instance index, id] per downstream instance, sorted at the end.
    const acc: Array<Array<[number, number, string]>> = downs.map(() => []);
    for (const need of st.needs) {
      const up = byName.get(need.stage);
      const ups = points.get(need.stage);
      if (up === undefined || ups === undefined) continue;
      const where = [...need.where].map(([axis, v]) => ({ axis, set: new Set(v.values.map(formatAxisValue)) }));
      const downAxes = new Set(st.axes.map((a) => a.name));
      const shared: Array<[string, string]> = [];
      for (const a of up.axes) {
        const to = need.as.get(a.name)?.to ?? a.name;
        if (downAxes.has(to)) shared.push([a.name, to]);
      }
      // Index the upstream instances by their values on the shared axes: O(up + down).
      const index = new Map<string, number[]>();
      ups.forEach((u, i) => {
        if (!where.every(({ axis, set }) => u.axes[axis] !== undefined && set.has(formatAxisValue(u.axes[axis]!)))) return;
        const key = shared.map(([ua]) => formatAxisValue(u.axes[ua]!)).join('\u0000');
        const list = index.get(key);
        if (list === undefined) index.set(key, [i]);
        else list.push(i);
      });
      let matched = 0;
      downs.forEach((d, di) => {
        const key = shared.map(([, da]) => formatAxisValue(d.axes[da]!)).join('\u0000');
        for (const ui of index.get(key) ?? []) {
          acc[di]!.push([up.index, ui, ups[ui]!.id]);
          matched++;
        }
      });
      if (matched === 0 && need.filterBroken !== true) {
        const on = shared.length > 0 ? ` on the shared axes (${shared.map(([u, d]) => (u === d ? u : `${u} as ${d}`)).join(', ')})` : '';
        const filt = need.where.size > 0 ? ' after the where filter' : '';
        diag.error('NEED_MATCHES_NOTHING', `need '${need.stage}' of stage '${st.name}' matches no instance: no '${need.stage}' instance${filt} agrees with any '${st.name}' instance${on}`, need.loc);
      }
    }
    downs.forEach((d, di) => {
      const list = acc[di]!;
      list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const ids: string[] = [];
      for (const [, , id] of list) if (ids[ids.length - 1] !== id) ids.push(id);
      deps.set(d.id, ids);
    });
  }
  return deps;
}

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

/**
 * Load, validate and expand a pipeline file. Built-in stage kinds come from `stages/` (or
 * `opts.stagesDir`), plugins from `plugins:` relative to the file. Never throws for problems
 * in the file: they are all returned, each with a location where one exists.
 */
export async function loadPipeline(file: string, opts: LoadPipelineOptions = {}): Promise<LoadResult> {
  const abs = resolve(file);
  const dir = dirname(abs);
  const diag = new Diagnostics();
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ code: 'FILE_READ', severity: 'error', message: `cannot read pipeline file ${file}: ${why}` }] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { keepSourceTokens: true, lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true, logLevel: 'error' });
  const src = new SourceFile(file, text, lines, doc);
  for (const e of doc.errors) {
    const loc = src.at(e.pos[0], Math.max(1, e.pos[1] - e.pos[0]));
    if (e.code === 'DUPLICATE_KEY') {
      const key = /^[^\s:]+/.exec(text.slice(e.pos[0]))?.[0] ?? '';
      diag.error('DUPLICATE_KEY', `duplicate key '${key}': keys must be unique within a map`, loc);
    } else {
      diag.error('YAML_SYNTAX', e.message.split('\n')[0] ?? e.message, loc);
    }
  }
  for (const w of doc.warnings) diag.warn('YAML_WARNING', w.message.split('\n')[0] ?? w.message, src.at(w.pos[0]));
  // An alias to an anchor defined later (or never) is not a parse error in `yaml`, but it
  // would make every value containing it unreadable: report it here, once, where it is used.
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) diag.error('YAML_SYNTAX', `unresolved alias *${node.source}: the anchor &${node.source} must be defined before it is used`, src.of(node, { file, line: 1, col: 1 }));
    },
  });

  const raw = parseRaw(src, diag);
  const used = new Set(raw.stages.map((s) => s.kind).filter((k): k is string => k !== undefined));
  const loaded = await loadStageKinds({ stagesDir: opts.stagesDir, plugins: raw.plugins, baseDir: dir, wanted: used });
  const kinds = loaded.kinds;
  // A broken built-in module that this pipeline cannot need (every `uses:` resolved, and the
  // file is not named after a used kind) must not block unrelated pipelines: warn instead.
  const allResolved = [...used].every((k) => kinds.has(k));
  for (const e of loaded.errors) {
    const base = e.file === undefined ? undefined : basename(e.file).replace(/\.ts$/, '');
    const harmless = e.loc === undefined && allResolved && base !== undefined && !used.has(base);
    if (harmless) diag.warn(e.code as 'KIND_LOAD', `${e.message} (no stage of this pipeline uses it)`);
    else diag.error(e.code as 'KIND_LOAD', e.message, e.loc);
  }

  checkReferences(raw, kinds, diag);
  const cyclic = checkCycles(raw, diag);

  // Expand every complete stage and resolve its params per instance.
  const points = new Map<string, Point[]>();
  const resolved = new Map<string, { params: Record<string, Json>; externalPaths: string[] }>();
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
      const r = resolveParams(rawParams, kind.kind.params, scope, dir);
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
      resolved.set(p.id, { params: r.params, externalPaths: r.externalPaths });
    }
  }
  const deps = matchNeeds(raw, points, diag);

  // Problems in file order (errors before warnings) read like compiler output.
  if (diag.hasErrors || cyclic) return { ok: false, errors: [...diag.errors, ...diag.warnings].sort(compareConfigErrors) };

  const stageOrder = topologicalOrder(stageGraphFromDecls(raw.stages));
  const stages = new Map<string, StageDecl>();
  for (const st of raw.stages) {
    const kind = kinds.get(st.kind!)!;
    const kr = kind.kind.resources ?? {};
    const resources: StageDecl['resources'] = { gpu: st.resources.gpu ?? kr.gpu ?? 0, cpu: st.resources.cpu ?? kr.cpu ?? 1 };
    const mem = st.resources.memoryMb ?? kr.memoryMb;
    if (mem !== undefined) resources.memoryMb = mem;
    const rawParams: Record<string, Json> = {};
    for (const [k, v] of st.paramNodes) rawParams[k] = src.js(v.value) as Json;
    stages.set(st.name, {
      name: st.name,
      kind: st.kind!,
      matrix: Object.fromEntries(st.axes.map((a) => [a.name, [...a.values]])),
      exclude: flatExcludes(st),
      needs: st.needs.map(
        (n): NeedDecl => ({
          stage: n.stage,
          where: Object.fromEntries([...n.where].map(([a, v]) => [a, [...v.values]])),
          as: Object.fromEntries([...n.as].map(([a, v]) => [a, v.to])),
          loc: n.loc,
        }),
      ),
      params: rawParams,
      resources,
      seed: st.seed ?? raw.seed,
      executor: st.executor,
      loc: st.loc,
    });
  }
  const instances = new Map<string, Instance>();
  for (const name of stageOrder) {
    const decl = stages.get(name)!;
    for (const p of points.get(name) ?? []) {
      const r = resolved.get(p.id)!;
      instances.set(p.id, {
        id: p.id,
        stage: name,
        kind: decl.kind,
        axes: p.axes,
        params: r.params,
        externalPaths: r.externalPaths,
        deps: deps.get(p.id) ?? [],
        resources: { ...decl.resources },
        seed: decl.seed,
      });
    }
  }
  const plan: Plan = { file: abs, dir, cacheDir: resolve(dir, raw.cache), seed: raw.seed, stages, stageOrder, instances, kinds, executor: raw.executor };
  return { ok: true, plan, warnings: diag.warnings.sort(compareConfigErrors) };
}
