/**
 * Checks before anything runs: each instance whose kind has a `preflight` hook is asked,
 * with the instances downstream of it, what problems it will cause (e.g. a data set too
 * small for the folds or the CCA the pipeline asks of it). `dag status` prints the answers
 * as warnings. A hook that throws becomes a warning too; nothing here fails the command.
 */
import type { Plan } from '../core/plan.ts';

/** One warning of a preflight check. */
export interface PreflightWarning {
  id: string;
  message: string;
}

/** Run every preflight hook of the plan's instances (in plan order). */
export async function runPreflights(plan: Plan): Promise<PreflightWarning[]> {
  const jobs: Array<Promise<PreflightWarning[]>> = [];
  for (const inst of plan.instances.values()) {
    const kind = plan.kinds.get(inst.kind)?.kind;
    if (!kind?.preflight) continue;
    // Plan order is topological: one pass collects everything downstream.
    const reached = new Set([inst.id]);
    const downstream: Array<{ id: string; kind: string; params: Record<string, unknown>; deps: string[] }> = [];
    for (const x of plan.instances.values()) {
      if (x.deps.some((d) => reached.has(d))) {
        reached.add(x.id);
        downstream.push({ id: x.id, kind: x.kind, params: x.params, deps: x.deps });
      }
    }
    const hook = kind.preflight.bind(kind);
    jobs.push(
      (async () => {
        try {
          const msgs = await hook({ id: inst.id, params: inst.params, axes: inst.axes, pipelineDir: plan.dir, downstream: downstream as never });
          return msgs.map((message) => ({ id: inst.id, message }));
        } catch (e) {
          return [{ id: inst.id, message: `preflight check failed: ${e instanceof Error ? e.message : String(e)}` }];
        }
      })(),
    );
  }
  return (await Promise.all(jobs)).flat();
}
