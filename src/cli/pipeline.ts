/**
 * What the pipeline commands share: loading and validating pipeline.yaml, opening the
 * cache, resolving targets to instance ids, and an instance's latest run record. Modules
 * heavier than node built-ins are imported when first used, never at start-up.
 */
import { resolve } from 'node:path';
import { CommandError, type CommandOutput, type PipelineInstanceView } from '../core/command.ts';
import type { Plan } from '../core/plan.ts';
import type { LocalCache } from '../cache/store.ts';
import type { KeyBuilder, StaticEvaluation } from '../executor/analyze.ts';

/** A loaded pipeline with its cache and key builder. */
export interface Loaded {
  plan: Plan;
  cache: LocalCache;
  keys: KeyBuilder;
}

/** `-f/--file` and `--cache` as they arrive in a command's options. */
export interface PipelineOptions {
  file?: unknown;
  cache?: unknown;
}

/** The pipeline file named by `-f` (default ./pipeline.yaml), absolute. */
export function pipelineFile(options: PipelineOptions): string {
  return resolve(typeof options.file === 'string' ? options.file : 'pipeline.yaml');
}

/** Built-in stage kinds folder override (DAG_STAGES_DIR), as loader options. */
export function stagesDirOption(env: NodeJS.ProcessEnv = process.env): { stagesDir?: string } {
  return env.DAG_STAGES_DIR ? { stagesDir: resolve(env.DAG_STAGES_DIR) } : {};
}

/** Load and validate a pipeline file; configuration errors are printed and end the command with exit 2. */
export async function loadPlanFile(file: string, output: CommandOutput, opts: { quietWarnings?: boolean } = {}): Promise<Plan> {
  const [{ loadPipeline }, { formatConfigErrors }] = await Promise.all([import('../pipeline/load.ts'), import('../pipeline/errors.ts')]);
  const res = await loadPipeline(file, stagesDirOption());
  if (!res.ok) {
    output.err(formatConfigErrors(res.errors));
    throw new CommandError('', 2);
  }
  if (res.warnings.length && !opts.quietWarnings) output.err(output.style.yellow(formatConfigErrors(res.warnings)));
  return res.plan;
}

/**
 * Load the pipeline named by the options, open its cache (`--cache` overrides `cache:`) and make its key builder.
 * Unless `keys: false` (commands that compute no cache keys), kinds whose runtime cannot be described are a
 * configuration error (exit 2) here rather than a crash later.
 */
export async function loadPipelineAndCache(
  options: PipelineOptions,
  output: CommandOutput,
  opts: { createCache: boolean; quietWarnings?: boolean; keys?: boolean },
): Promise<Loaded> {
  const plan = await loadPlanFile(pipelineFile(options), output, opts);
  if (typeof options.cache === 'string') plan.cacheDir = resolve(options.cache);
  if (opts.keys !== false) {
    // Kinds whose runtime cannot be described (DAG_BACKEND=garbage) would crash key evaluation.
    const { runtimeProblems } = await import('../executor/preflight.ts');
    const problems = runtimeProblems(plan);
    if (problems.length) throw new CommandError(problems.join('\n'), 2);
  }
  const [{ LocalCache }, { KeyBuilder }] = await Promise.all([import('../cache/store.ts'), import('../executor/analyze.ts')]);
  let cache: LocalCache;
  try {
    cache = new LocalCache(plan.cacheDir, { create: opts.createCache });
  } catch (e) {
    throw new CommandError((e as Error).message, 2);
  }
  return { plan, cache, keys: new KeyBuilder(plan, cache) };
}

/** The instances of a pipeline file, as study-side commands see them (`CommandCall.loadInstances`). */
export async function loadInstanceViews(file: string, output: CommandOutput): Promise<PipelineInstanceView[]> {
  const plan = await loadPlanFile(resolve(file), output, { quietWarnings: true });
  return [...plan.instances.values()].map((i) => ({ id: i.id, stage: i.stage, kind: i.kind, axes: i.axes, params: i.params, deps: i.deps }));
}

/** Instances matched by targets (stage names, ids, `stage[axis=value]`); unknown ones are usage errors, all named at once. */
export async function matchTargets(plan: Plan, targets: readonly string[], what: string): Promise<Set<string>> {
  const { resolveTarget, UnknownTargetError } = await import('../graph/select.ts');
  const ids = new Set<string>();
  const bad: string[] = [];
  for (const t of targets) {
    try {
      for (const id of resolveTarget(plan, t)) ids.add(id);
    } catch (e) {
      if (!(e instanceof UnknownTargetError)) throw e;
      bad.push(`${what}: ${e.message}`);
    }
  }
  if (bad.length) throw new CommandError(bad.join('\n'));
  return ids;
}

/** Exactly one instance for show / log / cat / path (a partial id must match exactly one). */
export async function oneInstance(plan: Plan, target: string | undefined): Promise<string> {
  if (!target) throw new CommandError('expected an instance id (see `dag ls`)');
  if (plan.instances.has(target)) return target;
  const ids = [...(await matchTargets(plan, [target], 'instance'))];
  if (ids.length === 1) return ids[0]!;
  throw new CommandError(`'${target}' matches ${ids.length} instances; name one:\n${ids.slice(0, 20).map((i) => `  ${i}`).join('\n')}`);
}

/** `a, b, c` or `a, b and 28 more`, so long dependency lists stay one readable line. */
export function listIds(ids: readonly string[], max = 3): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max - 1).join(', ')} and ${ids.length - max + 1} more`;
}

/** The record an inspecting command shows: the current one if cached, else the latest run's. */
export function latestRecord(l: Loaded, id: string) {
  const evaluation: StaticEvaluation = l.keys.analyze([id]).get(id)!;
  if (evaluation.state === 'cached') return { record: evaluation.record, current: true, evaluation };
  const idx = l.cache.readIndex(id);
  const record = idx ? l.cache.readRecord(idx.key) : undefined;
  return { record, current: false, evaluation };
}
