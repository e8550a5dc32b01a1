/**
 * Which executor `dag run` uses: `--executor local|slurm`, else the pipeline's
 * `executor.type`, else local. The slurm module is imported only when chosen.
 */
import type { LocalCache } from '../cache/store.ts';
import type { Plan } from '../core/plan.ts';
import type { Executor } from './executor.ts';
import { LocalExecutor } from './local.ts';

/** Executor names `--executor` accepts. */
export const EXECUTOR_NAMES = ['local', 'slurm'] as const;
/** One of EXECUTOR_NAMES. */
export type ExecutorName = (typeof EXECUTOR_NAMES)[number];

/** True when `s` names an executor. */
export function isExecutorName(s: string): s is ExecutorName {
  return (EXECUTOR_NAMES as readonly string[]).includes(s);
}

/** What building an executor needs. */
export interface ExecutorEnv {
  plan: Plan;
  cache: LocalCache;
  /** CPU slots and GPU cards of the local executor. */
  jobs: number;
  gpus: () => string[];
  signal?: AbortSignal;
}

/** The executor a run uses: the flag, else the pipeline's `executor.type`, else local. */
export function executorName(flag: ExecutorName | undefined, plan: Plan): ExecutorName {
  return flag ?? plan.executor.type ?? 'local';
}

/** Build the named executor. */
export async function createExecutor(name: ExecutorName, env: ExecutorEnv): Promise<Executor> {
  if (name === 'slurm') {
    const { SlurmExecutor } = await import('./slurm/executor.ts');
    return new SlurmExecutor({ cache: env.cache, plan: env.plan });
  }
  return new LocalExecutor({ cache: env.cache, cwd: env.plan.dir, jobs: env.jobs, gpus: env.gpus, signal: env.signal });
}
