/**
 * Selection of instances for `dag run <targets>` (targets plus everything upstream),
 * `dag run --only <stages>` (just those) and invalidation (everything downstream).
 * Targets are stage names, exact instance ids, or partial ids such as
 * `finetune[dataset=knee]` (every finetune instance whose dataset is knee).
 */
import { formatAxisValue, parseInstanceSelector } from '../core/ids.ts';
import type { Instance, Plan } from '../core/plan.ts';
import { closest } from '../core/suggest.ts';

/** A target that names no stage or instance, with a suggestion when one is close. */
export class UnknownTargetError extends Error {
  override readonly name = 'UnknownTargetError';
  readonly code = 'UNKNOWN_TARGET';
  constructor(
    readonly target: string,
    readonly suggestion: string | undefined,
    detail: string,
  ) {
    super(`unknown target '${target}': ${detail}${suggestion !== undefined ? `; did you mean '${suggestion}'?` : ''}`);
  }
}

function instancesByStage(plan: Plan): Map<string, Instance[]> {
  const out = new Map<string, Instance[]>();
  for (const s of plan.stages.keys()) out.set(s, []);
  for (const inst of plan.instances.values()) out.get(inst.stage)?.push(inst);
  return out;
}

/**
 * The instance ids one target names. Throws UnknownTargetError for a target that names no
 * stage, no instance, or (for a partial id) an unknown axis or a value no instance has.
 */
export function resolveTarget(plan: Plan, target: string, byStage: ReadonlyMap<string, Instance[]> = instancesByStage(plan)): string[] {
  if (plan.instances.has(target)) return [target];
  const stageList = byStage.get(target);
  if (stageList !== undefined) return stageList.map((i) => i.id);
  const sel = parseInstanceSelector(target);
  const stage = sel === undefined ? undefined : plan.stages.get(sel.stage);
  if (sel === undefined || stage === undefined) {
    const word = sel?.stage ?? target;
    const suggestion = target.includes('[') ? closest(target, plan.instances.keys()) ?? closest(word, plan.stages.keys()) : closest(word, plan.stages.keys());
    throw new UnknownTargetError(target, suggestion, `no stage '${word}' (stages: ${[...plan.stages.keys()].join(', ')})`);
  }
  for (const [axis, value] of sel.axes) {
    const values = stage.matrix[axis];
    if (values === undefined) {
      throw new UnknownTargetError(target, closest(axis, Object.keys(stage.matrix)), `stage '${stage.name}' has no axis '${axis}' (axes: ${Object.keys(stage.matrix).join(', ') || 'none'})`);
    }
    const texts = values.map(formatAxisValue);
    if (!texts.includes(value)) throw new UnknownTargetError(target, closest(value, texts), `'${value}' is not a value of axis '${axis}' (values: ${texts.join(', ')})`);
  }
  const hits = (byStage.get(stage.name) ?? []).filter((i) => [...sel.axes].every(([a, v]) => i.axes[a] !== undefined && formatAxisValue(i.axes[a]!) === v));
  if (hits.length === 0) throw new UnknownTargetError(target, undefined, 'that combination is excluded from the matrix');
  return hits.map((i) => i.id);
}

/** The ids in `set`, in plan (topological) order. */
function inPlanOrder(plan: Plan, set: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const id of plan.instances.keys()) if (set.has(id)) out.add(id);
  return out;
}

/**
 * The instances the targets name plus every instance they depend on, transitively, in plan
 * order: what `dag run <targets>` must bring up to date. No targets selects everything.
 */
export function selectWithUpstream(plan: Plan, targets: readonly string[]): Set<string> {
  if (targets.length === 0) return new Set(plan.instances.keys());
  const byStage = instancesByStage(plan);
  const seen = new Set<string>();
  const stack: string[] = [];
  for (const t of targets) for (const id of resolveTarget(plan, t, byStage)) stack.push(id);
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const d of plan.instances.get(id)?.deps ?? []) if (!seen.has(d)) stack.push(d);
  }
  return inPlanOrder(plan, seen);
}

/**
 * Only the instances the targets name (stage names, ids or partial ids), in plan order:
 * `dag run --only cca`, which takes every input from the cache.
 */
export function selectOnly(plan: Plan, stages: readonly string[]): Set<string> {
  const byStage = instancesByStage(plan);
  const set = new Set<string>();
  for (const t of stages) for (const id of resolveTarget(plan, t, byStage)) set.add(id);
  return inPlanOrder(plan, set);
}

/**
 * The given instances and every instance that depends on them, transitively, in plan order:
 * what must re-run when they change. Unknown ids are ignored.
 */
export function downstreamOf(plan: Plan, ids: Iterable<string>): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const inst of plan.instances.values()) {
    for (const d of inst.deps) {
      const list = dependents.get(d);
      if (list === undefined) dependents.set(d, [inst.id]);
      else list.push(inst.id);
    }
  }
  const seen = new Set<string>();
  const stack = [...ids].filter((id) => plan.instances.has(id));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const d of dependents.get(id) ?? []) if (!seen.has(d)) stack.push(d);
  }
  return inPlanOrder(plan, seen);
}
