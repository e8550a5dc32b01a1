/**
 * sbatch options of one instance: the pipeline's `executor:` block, the stage's overrides,
 * and what the instance needs (cores, one GPU card, memory, time limit).
 */
import type { ExecutorSettings, Plan } from '../../core/plan.ts';
import type { Demand } from '../executor.ts';

/** Default bound on the size of one job array. */
export const DEFAULT_ARRAY_MAX = 100;

/** The settings of `stage`: its own `executor:` keys over the top-level ones. */
export function stageSettings(plan: Plan, stage: string): ExecutorSettings {
  const top = plan.executor;
  const own = plan.stages.get(stage)?.executor ?? {};
  return { ...top, ...own, sbatch: [...(top.sbatch ?? []), ...(own.sbatch ?? [])] };
}

/** The sbatch options (without --array/--output) for an instance with this demand. */
export function sbatchOptions(s: ExecutorSettings, d: Demand): string[] {
  const args: string[] = [];
  if (s.partition) args.push(`--partition=${s.partition}`);
  if (s.account) args.push(`--account=${s.account}`);
  if (s.qos) args.push(`--qos=${s.qos}`);
  const time = d.time ?? s.time;
  if (time) args.push(`--time=${time}`);
  args.push(`--cpus-per-task=${Math.max(1, d.cpu)}`);
  if (d.gpu >= 1) args.push('--gres=gpu:1'); // an instance never shares a card, and uses one
  if (d.memoryMb) args.push(`--mem=${Math.ceil(d.memoryMb)}M`);
  args.push(...(s.sbatch ?? []));
  return args;
}
