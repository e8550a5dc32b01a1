/**
 * The Slurm client commands dag uses, and nothing else: `sbatch --parsable` to submit,
 * `squeue` (one call for every job of the user, with array tasks one per line) to learn
 * about jobs that died without writing their end event, `scancel` on Ctrl-C. Never
 * `sacct`: it must work where accounting is disabled.
 */
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';

/** A Slurm command that failed to run or exited non-zero. */
export class SlurmCommandError extends Error {
  override readonly name = 'SlurmCommandError';
  constructor(readonly command: string, message: string) {
    super(message);
  }
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) => {
      if (e) {
        const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} not found on PATH (is the Slurm client installed on this machine?)` : `${cmd} ${args.join(' ')}: ${String(stderr).trim() || e.message}`;
        rej(new SlurmCommandError(cmd, why));
      } else res(String(stdout));
    });
  });
}

/** Submit a batch script; resolves with the job id (`sbatch --parsable` prints `id[;cluster]`). */
export async function sbatch(args: string[], script: string): Promise<string> {
  const out = await run('sbatch', ['--parsable', ...args, script]);
  const id = out.trim().split(';')[0]!;
  if (!/^\d+$/.test(id)) throw new SlurmCommandError('sbatch', `sbatch printed "${out.trim()}", expected a job id`);
  return id;
}

/** What squeue says about one job (or array task). */
export interface QueueEntry {
  /** PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, TIMEOUT, FAILED, OUT_OF_MEMORY, NODE_FAIL, ... */
  state: string;
  reason: string;
  node: string;
}

/** States after which a job runs no more. */
export const TERMINAL_STATES = new Set([
  'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT',
]);

/** The user whose jobs squeue lists. */
export function currentUser(): string {
  return process.env.USER || userInfo().username;
}

/**
 * Every job of `user` that Slurm still knows (queued, running, or ended within
 * MinJobAge), array tasks one per line: job id (`12` or `12_3`) -> state.
 */
export async function squeue(user = currentUser()): Promise<Map<string, QueueEntry>> {
  const out = await run('squeue', ['--noheader', '--array', '--states=all', `--user=${user}`, '--format=%i|%T|%r|%N']);
  const map = new Map<string, QueueEntry>();
  for (const line of out.split('\n')) {
    const [id, state, reason, node] = line.trim().split('|');
    if (id && state) map.set(id, { state, reason: reason ?? '', node: node ?? '' });
  }
  return map;
}

/**
 * Pending reasons after which a job will never start as submitted (it asks for more than
 * the partition has, or for an account/QOS it may not use); dag fails such tasks at once
 * instead of waiting forever.
 */
export const HOPELESS_REASONS = new Set([
  'PartitionConfig', 'PartitionNodeLimit', 'PartitionTimeLimit', 'BadConstraints', 'InvalidAccount', 'InvalidQOS',
  'AccountNotAllowed', 'QOSNotAllowed', 'PartitionDown', 'PartitionInactive', 'ReqNodeNotAvail, UnavailableNodes',
]);

/** The largest node of a partition (default partition when undefined): CPUs and memory (MiB). */
export async function largestNode(partition?: string): Promise<{ cpus: number; memoryMb: number }> {
  const out = await run('sinfo', ['--noheader', '--format=%c|%m', ...(partition ? [`--partition=${partition}`] : [])]);
  let cpus = 0;
  let memoryMb = 0;
  for (const line of out.split('\n')) {
    const [c, m] = line.trim().split('|');
    cpus = Math.max(cpus, Number.parseInt(c ?? '', 10) || 0);
    memoryMb = Math.max(memoryMb, Number.parseInt(m ?? '', 10) || 0);
  }
  return { cpus, memoryMb };
}

/** Cancel jobs (whole arrays when given array ids). */
export async function scancel(ids: string[]): Promise<void> {
  if (ids.length) await run('scancel', ids);
}
