/**
 * The files of one Slurm submission (a job array) in the shared cache, the only channel
 * between `dag run` and its jobs besides the cache itself:
 *
 * ```
 * cache/slurm/<batch>/tasks.json     what each array task runs (InstanceSpec + Demand), written before sbatch
 * cache/slurm/<batch>/job.sh         the batch script: the job entry point on this batch
 * cache/slurm/<batch>/job-id         the array's job id, written after sbatch
 * cache/slurm/<batch>/<i>.events     NDJSON events of task i, appended by the job
 * cache/slurm/<batch>/<i>.out        Slurm's stdout + stderr of task i
 * cache/slurm/submissions.ndjson     one line per sbatch call: time, batch, job id, stage, tasks
 * ```
 */
import { appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceAssignment, Progress } from '../../core/contract.ts';
import type { CacheKey } from '../../cache/digest.ts';
import type { LockOwner } from '../../cache/lock.ts';
import type { Demand } from '../executor.ts';
import type { InstanceSpec } from '../run-instance.ts';

/** `tasks.json`. */
export interface BatchFile {
  cacheDir: string;
  stage: string;
  tasks: Array<{ spec: InstanceSpec; demand: Demand }>;
}

/** How a job's run of its instance ended (the last event of its file). */
export type JobEnd =
  | { state: 'done' | 'cached'; key: CacheKey }
  | { state: 'failed'; code: string; message: string; stack?: string; durationMs: number }
  | { state: 'busy'; owner: LockOwner | undefined }
  | { state: 'interrupted'; signal: string | null };

/** One line of `<i>.events`. */
export type JobEvent =
  | { type: 'started'; t: number; jobId: string; host: string; pid: number; device: DeviceAssignment }
  | { type: 'progress'; t: number; progress: Progress }
  | { type: 'log'; t: number; level: 'info' | 'warn'; message: string }
  | { type: 'end'; t: number; end: JobEnd };

/** One line of `submissions.ndjson`. */
export interface Submission {
  t: number;
  batch: string;
  jobId: string;
  stage: string;
  tasks: number;
  host: string;
  pid: number;
}

/** Paths of one batch. */
export class BatchDir {
  constructor(readonly dir: string) {}
  get tasksFile(): string { return join(this.dir, 'tasks.json'); }
  get script(): string { return join(this.dir, 'job.sh'); }
  get jobIdFile(): string { return join(this.dir, 'job-id'); }
  events(i: number): string { return join(this.dir, `${i}.events`); }
  log(i: number): string { return join(this.dir, `${i}.out`); }
  /** The `--output` pattern Slurm expands to `log(i)`. */
  get logPattern(): string { return join(this.dir, '%a.out'); }
}

/** The submissions log of a cache's slurm folder. */
export function submissionsFile(slurmDir: string): string {
  return join(slurmDir, 'submissions.ndjson');
}

/** Append one event (O_APPEND: whole lines, one writer per file). */
export function appendEvent(file: string, e: JobEvent): void {
  appendFileSync(file, JSON.stringify(e) + '\n');
}

/** Reads the complete lines appended to an events file since the last call. */
export class EventTail {
  private offset = 0;
  private partial = '';
  constructor(readonly file: string) {}

  /** New events (none when the file does not exist yet). */
  read(): JobEvent[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return [];
    }
    const chunks: Buffer[] = [];
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
        this.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    if (!chunks.length) return [];
    const text = this.partial + Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const out: JobEvent[] = [];
    for (const l of lines) {
      if (!l.trim()) continue;
      try {
        out.push(JSON.parse(l) as JobEvent);
      } catch {
        /* a torn line cannot happen with O_APPEND of whole lines; ignore rather than crash */
      }
    }
    return out;
  }
}

/** Every event in a file (for `dag status` / `dag log`). */
export function readEvents(file: string): JobEvent[] {
  return new EventTail(file).read();
}

/** The last lines of a job log, for failure records. */
export function tailOf(file: string, lines = 40): string {
  try {
    const st = statSync(file);
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(st.size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, st.size - len);
      return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** A Slurm task of a batch that has not ended, as `dag status` and `dag log` show it. */
export interface ActiveTask {
  id: string;
  stage: string;
  jobId: string | null;
  state: 'queued' | 'running';
  host?: string;
  logPath: string;
  submittedAt: number;
}

/** Tasks of every batch under `slurmDir` that have no end event yet. */
export function activeTasks(slurmDir: string): ActiveTask[] {
  let names: string[] = [];
  try { names = readdirSync(slurmDir); } catch { return []; }
  const out: ActiveTask[] = [];
  for (const n of names) {
    const b = new BatchDir(join(slurmDir, n));
    if (!existsSync(b.jobIdFile)) continue;
    let batch: BatchFile;
    let arrayId: string;
    let submittedAt: number;
    try {
      batch = JSON.parse(readFileSync(b.tasksFile, 'utf8')) as BatchFile;
      arrayId = readFileSync(b.jobIdFile, 'utf8').trim();
      submittedAt = statSync(b.jobIdFile).mtimeMs;
    } catch {
      continue;
    }
    batch.tasks.forEach((t, i) => {
      const events = readEvents(b.events(i));
      if (events.some((e) => e.type === 'end')) return;
      const started = events.find((e): e is Extract<JobEvent, { type: 'started' }> => e.type === 'started');
      out.push({
        id: t.spec.id,
        stage: t.spec.stage,
        jobId: `${arrayId}_${i}`,
        state: started ? 'running' : 'queued',
        ...(started ? { host: started.host } : {}),
        logPath: b.log(i),
        submittedAt,
      });
    });
  }
  return out;
}
