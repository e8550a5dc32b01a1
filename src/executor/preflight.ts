/**
 * Plan-time checks of `dag run`: everything that can be known to fail before any instance
 * runs is reported at once, as configuration errors (exit 2), instead of after minutes of
 * work or as a stack trace. Nothing here writes.
 *
 * - every kind's `runtimeKey` must be computable (e.g. `DAG_BACKEND` names a backend);
 * - with an explicit `--gpus`, every GPU stage's kind must compute on those cards
 *   (`StageKind.gpuSupport`), so no run records "gpu 0" while computing on the CPU;
 * - stage names and axis values must fit in one file-name component with room for the
 *   prefixes and suffixes stages add to them (NAME_MAX), and the cache folder must leave
 *   room for the paths the store builds under it (PATH_MAX);
 * - each selected instance's own `StageKind.check` (e.g. CSV path columns inside the data root).
 */
import type { Plan } from '../core/plan.ts';

/** Longest file-name component on Linux file systems (ext4, xfs, btrfs, tmpfs). */
export const NAME_MAX = 255;
/** Longest path the kernel accepts. */
export const PATH_MAX = 4096;
/**
 * Bytes of a file name left for what stages add around a name (`AUC_<dataset>_block4.csv`,
 * `<stage>.tmp-<pid>`); a stage name or axis value may use the rest.
 */
export const NAME_MARGIN = 55;
/** Room the store needs under the cache folder (`tmp/<pid>-<12 hex>-out/` + a nested output path). */
const CACHE_PATH_ROOM = 2 * NAME_MAX + 64;

/** What {@link preflight} checks against. */
export interface PreflightOptions {
  plan: Plan;
  /** Instances about to be built. */
  selected: ReadonlySet<string>;
  /** An explicit `--gpus` value and the card ids it names (undefined: no flag). */
  gpuFlag?: { value: string; ids: readonly string[] };
}

/** Problems with the runtime (kinds whose `runtimeKey` throws), for every command that computes keys. */
export function runtimeProblems(plan: Plan, kinds: Iterable<string> = plan.kinds.keys()): string[] {
  const problems: string[] = [];
  for (const name of new Set(kinds)) {
    const k = plan.kinds.get(name)?.kind;
    if (!k?.runtimeKey) continue;
    try {
      k.runtimeKey({ device: 'any' });
    } catch (e) {
      const stages = [...plan.stages.values()].filter((s) => s.kind === name).map((s) => s.name);
      problems.push(`stage ${stages.join(', ') || '?'} (kind ${name}) cannot run on this machine: ${errorText(e)}`);
    }
  }
  return problems;
}

/** Every problem found before running (empty: go ahead). */
export function preflight(opts: PreflightOptions): string[] {
  const { plan, selected } = opts;
  const insts = [...selected].map((id) => plan.instances.get(id)!).filter(Boolean);
  const problems = runtimeProblems(plan, insts.map((i) => i.kind));

  if (opts.gpuFlag && opts.gpuFlag.ids.length > 0) {
    const asked = new Set<string>();
    for (const inst of insts) {
      if ((inst.resources.gpu ?? 0) < 1 || asked.has(inst.kind)) continue;
      asked.add(inst.kind);
      const why = plan.kinds.get(inst.kind)?.kind.gpuSupport?.(opts.gpuFlag.ids) ?? null;
      if (why !== null) {
        problems.push(`--gpus ${opts.gpuFlag.value}: stage ${inst.stage} (kind ${inst.kind}) would not compute on a GPU: ${why}; without --gpus (or with --gpus none) it runs on CPU slots`);
      }
    }
  }

  const seen = new Set<string>();
  const tooLong = (what: string, name: string): void => {
    const bytes = Buffer.byteLength(name);
    if (bytes <= NAME_MAX - NAME_MARGIN || seen.has(what)) return;
    seen.add(what);
    problems.push(`${what} '${name.length > 40 ? `${name.slice(0, 37)}...` : name}' is ${bytes} bytes: names used in file names must be at most ${NAME_MAX - NAME_MARGIN} (a file name is at most ${NAME_MAX} bytes, less ${NAME_MARGIN} for what stages add)`);
  };
  for (const inst of insts) {
    tooLong(`stage name`, inst.stage);
    for (const [axis, v] of Object.entries(inst.axes)) tooLong(`stage ${inst.stage}: axis ${axis} value`, String(v));
  }
  if (Buffer.byteLength(plan.cacheDir) + CACHE_PATH_ROOM > PATH_MAX) {
    problems.push(`cache folder ${plan.cacheDir.slice(0, 60)}... is ${Buffer.byteLength(plan.cacheDir)} bytes long: paths under it would exceed PATH_MAX (${PATH_MAX})`);
  }

  // Instances of one stage often share an input (a data root): one line per distinct problem.
  const byProblem = new Map<string, string[]>();
  for (const inst of insts) {
    const k = plan.kinds.get(inst.kind)?.kind;
    if (!k?.check) continue;
    let found: string[];
    try {
      found = k.check({ id: inst.id, stage: inst.stage, params: inst.params, pipelineDir: plan.dir });
    } catch (e) {
      found = [`check failed: ${errorText(e)}`];
    }
    for (const f of found) byProblem.set(f, [...(byProblem.get(f) ?? []), inst.id]);
  }
  for (const [f, ids] of byProblem) problems.push(`${ids[0]}${ids.length > 1 ? ` (and ${ids.length - 1} more)` : ''}: ${f}`);
  return problems;
}

function errorText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
