/**
 * What `dag status` and `dag log` show of Slurm jobs: the instances whose jobs are queued or
 * running (from the batch folders in the cache, checked against one `squeue` call when the
 * Slurm client is there), and a job's output. Read-only: nothing here writes to the cache.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { LocalCache } from '../../cache/store.ts';
import { activeTasks, type ActiveTask } from './batch.ts';
import { squeue, TERMINAL_STATES } from './commands.ts';

/** An instance with a Slurm job that has not reported its end. */
export interface SlurmJobView extends ActiveTask {
  /** squeue's state (PENDING, RUNNING, ...), or null when squeue could not be asked. */
  slurmState: string | null;
}

/**
 * Instances with queued or running Slurm jobs in this cache. Tasks that squeue shows ended
 * (or no longer knows, 30 s after submission) died without a word and are left out: the
 * next `dag run` reports and resubmits them.
 */
export async function slurmJobs(cache: LocalCache): Promise<SlurmJobView[]> {
  const tasks = activeTasks(cache.layout.slurm);
  if (tasks.length === 0) return [];
  let queue: Awaited<ReturnType<typeof squeue>> | undefined;
  try {
    queue = await squeue();
  } catch {
    queue = undefined; // no Slurm client here: show what the files say
  }
  const out: SlurmJobView[] = [];
  for (const t of tasks) {
    const q = t.jobId ? queue?.get(t.jobId) : undefined;
    if (queue && (q ? TERMINAL_STATES.has(q.state) : Date.now() - t.submittedAt > 30_000)) continue;
    out.push({ ...t, slurmState: q?.state ?? null });
  }
  return out;
}

/** One line per job for `dag status`: `id  job 4711_3  RUNNING on node7  log PATH`. */
export function formatSlurmJobs(jobs: SlurmJobView[], cwd = process.cwd()): string[] {
  const w = Math.max(...jobs.map((j) => j.id.length));
  return jobs.map((j) => {
    const state = j.slurmState ?? (j.state === 'running' ? 'RUNNING' : 'PENDING');
    const rel = relative(cwd, j.logPath);
    return `  ${j.id.padEnd(w)}  job ${j.jobId}  ${state}${j.host ? ` on ${j.host}` : ''}  log ${rel && !rel.startsWith('..') ? rel : j.logPath}`;
  });
}

/** The output so far of the Slurm job running (or queued for) `id`, if there is one. */
export async function liveJobLog(cache: LocalCache, id: string): Promise<{ job: SlurmJobView; text: string } | undefined> {
  const job = (await slurmJobs(cache)).find((j) => j.id === id);
  if (!job) return undefined;
  let text = '';
  try {
    text = readFileSync(job.logPath, 'utf8');
  } catch {
    text = job.state === 'queued' ? '' : '(the job log is not there yet)\n';
  }
  return { job, text };
}
