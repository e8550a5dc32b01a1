/**
 * Entry point of a Slurm job (`job.sh` runs `node --import tsx job.ts <batch dir>`): array
 * task i reads its instance from `tasks.json` and runs it through `runInstance`, exactly as
 * `dag run` does locally (same lock, same worker entry point, same publishing), against the
 * cache on the shared file system. Everything it has to say goes to `<i>.events` (started,
 * progress, log, end) for the controller to read; log lines also go to stdout (the Slurm
 * log). On SIGTERM (scancel, time limit) it stops the worker and writes an `interrupted` end.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { DeviceAssignment } from '../../core/contract.ts';
import { LocalCache } from '../../cache/store.ts';
import { runInstance, type RunOutcome } from '../run-instance.ts';
import { WorkerPool } from '../worker-pool.ts';
import { appendEvent, BatchDir, type BatchFile, type JobEnd } from './batch.ts';

function endOf(o: RunOutcome, signal: string | null): JobEnd {
  switch (o.state) {
    case 'done':
    case 'cached':
      return { state: o.state, key: o.record.key };
    case 'failed':
      return { state: 'failed', code: o.code, message: o.message, ...(o.stack ? { stack: o.stack } : {}), durationMs: o.durationMs };
    case 'busy':
      return { state: 'busy', owner: o.owner };
    case 'interrupted':
      return { state: 'interrupted', signal };
    default: {
      const never: never = o;
      throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
    }
  }
}

async function main(): Promise<number> {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: job.ts <batch dir>\n');
    return 2;
  }
  const b = new BatchDir(dir);
  const index = Number(process.env.SLURM_ARRAY_TASK_ID ?? 0);
  const batch = JSON.parse(readFileSync(b.tasksFile, 'utf8')) as BatchFile;
  const task = batch.tasks[index];
  if (!task) throw new Error(`${b.tasksFile} has no task ${index}`);
  const jobId = process.env.SLURM_ARRAY_JOB_ID ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}` : (process.env.SLURM_JOB_ID ?? 'unknown');
  const events = b.events(index);
  const cache = new LocalCache(batch.cacheDir, { create: false });
  const workers = new WorkerPool(task.spec.pipelineDir);
  // Slurm exports the granted card(s) as CUDA_VISIBLE_DEVICES; a CPU instance gets none.
  const cvd = (process.env.CUDA_VISIBLE_DEVICES ?? '').split(',')[0]!.trim();
  const device: DeviceAssignment = task.demand.gpu >= 1 && cvd !== '' && cvd !== '-1' ? { type: 'gpu', id: cvd } : { type: 'cpu' };
  const cpus = Number(process.env.SLURM_CPUS_PER_TASK) || task.demand.cpu || 1;

  const abort = new AbortController();
  let signal: string | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    signal = sig;
    abort.abort();
    workers.killAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  process.stdout.write(`dag: ${task.spec.id} in Slurm job ${jobId} on ${hostname()} (${device.type === 'gpu' ? `gpu ${device.id}` : 'cpu'}, ${cpus} cpu)\n`);
  const outcome = await runInstance(task.spec, {
    cache,
    workers,
    device,
    cpus,
    signal: abort.signal,
    listener: {
      started: (d) => appendEvent(events, { type: 'started', t: Date.now(), jobId, host: hostname(), pid: process.pid, device: d }),
      progress: (progress) => appendEvent(events, { type: 'progress', t: Date.now(), progress }),
      log: (level, message) => {
        process.stdout.write(`${level === 'warn' ? 'warning: ' : ''}${message}\n`);
        appendEvent(events, { type: 'log', t: Date.now(), level, message });
      },
    },
  });
  workers.killAll();
  const end = endOf(outcome, signal);
  appendEvent(events, { type: 'end', t: Date.now(), end });
  process.stdout.write(`dag: ${task.spec.id}: ${end.state}${end.state === 'failed' ? ` (${end.code}: ${end.message})` : ''}\n`);
  return end.state === 'failed' ? 1 : end.state === 'interrupted' ? 143 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`dag job: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
