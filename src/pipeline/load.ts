/**
 * `loadPipeline`: pipeline.yaml -> a validated, expanded Plan, or every configuration problem
 * found in the file at once (YAML syntax, schema, kinds, references, params, cycles), each
 * with file:line:col. This is the only entry point the CLI and executor need from pipeline/.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, visit } from 'yaml';
import type { Json } from '../core/contract.ts';
import { stageGraphFromDecls } from '../graph/build.ts';
import { findStageCycles } from '../graph/cycles.ts';
import { topologicalOrder } from '../graph/order.ts';
import { Diagnostics } from './diagnostics.ts';
import { compareConfigErrors, type ConfigError } from './errors.ts';
import { formatAxisValue } from '../core/ids.ts';
import { loadStageKinds, type LoadedKinds } from './kinds.ts';
import { expandInstances, flatExcludes, type Point, type ResolvedParams } from './expand.ts';
import { checkFilter, parseRaw, type RawPipeline } from './parse.ts';
import type { Instance, LoadedKind, NeedDecl, Plan, StageDecl } from '../core/plan.ts';
import { SourceFile } from './source.ts';
import { didYouMean } from '../core/suggest.ts';

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

/**
 * Parses the pipeline text, reporting YAML syntax errors, duplicate keys, warnings and
 * unresolved aliases to `diag` with their locations.
 */
function readYaml(file: string, text: string, diag: Diagnostics): SourceFile {
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

  return src;
}

/**
 * Reports stage kinds that failed to load. A broken built-in module that this pipeline cannot
 * need (every `uses:` resolved, and the file is not named after a used kind) must not block
 * unrelated pipelines: it is a warning then.
 */
function reportKindErrors(errors: LoadedKinds['errors'], used: ReadonlySet<string>, kinds: ReadonlyMap<string, LoadedKind>, diag: Diagnostics): void {
  const allResolved = [...used].every((k) => kinds.has(k));
  for (const e of errors) {
    const base = e.file === undefined ? undefined : basename(e.file).replace(/\.ts$/, '');
    const harmless = e.loc === undefined && allResolved && base !== undefined && !used.has(base);
    if (harmless) diag.warn(e.code as 'KIND_LOAD', `${e.message} (no stage of this pipeline uses it)`);
    else diag.error(e.code as 'KIND_LOAD', e.message, e.loc);
  }

}

/** The plan's stage declarations in dependency order and its instances, from a problem-free file. */
function assemblePlan(
  raw: RawPipeline,
  kinds: ReadonlyMap<string, LoadedKind>,
  src: SourceFile,
  points: ReadonlyMap<string, Point[]>,
  resolved: ReadonlyMap<string, ResolvedParams>,
  deps: ReadonlyMap<string, string[]>,
): Pick<Plan, 'stageOrder' | 'stages' | 'instances'> {
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
  return { stageOrder, stages, instances };
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
  const src = readYaml(file, text, diag);

  const raw = parseRaw(src, diag);
  const used = new Set(raw.stages.map((s) => s.kind).filter((k): k is string => k !== undefined));
  const loaded = await loadStageKinds({ stagesDir: opts.stagesDir, plugins: raw.plugins, baseDir: dir, wanted: used });
  const kinds = loaded.kinds;
  reportKindErrors(loaded.errors, used, kinds, diag);

  checkReferences(raw, kinds, diag);
  const cyclic = checkCycles(raw, diag);

  // Expand every complete stage and resolve its params per instance.
  const { points, resolved } = expandInstances(raw, kinds, src, dir, diag);
  const deps = matchNeeds(raw, points, diag);

  // Problems in file order (errors before warnings) read like compiler output.
  if (diag.hasErrors || cyclic) return { ok: false, errors: [...diag.errors, ...diag.warnings].sort(compareConfigErrors) };

  const { stageOrder, stages, instances } = assemblePlan(raw, kinds, src, points, resolved, deps);
  const plan: Plan = { file: abs, dir, cacheDir: resolve(dir, raw.cache), seed: raw.seed, stages, stageOrder, instances, kinds, executor: raw.executor };
  return { ok: true, plan, warnings: diag.warnings.sort(compareConfigErrors) };
}
