/**
 * The `slurm` executor: every instance the scheduler hands over becomes a task of a Slurm
 * job array. Requests of one stage with the same sbatch options that arrive within a short
 * window go into one array (at most `array_max` tasks), so a wide matrix is a few `sbatch`
 * calls, not hundreds. A task runs src/executor/slurm/job.ts on a node, against the same
 * cache on a shared file system, and appends its events to a file there; this side reads
 * those files (cheap, local to the file system) and calls `squeue` only every few seconds,
 * once for all jobs, to learn about tasks that ended without a word (scancel, time limit,
 * out of memory, node failure). No `sacct`.
 */
import { mkdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../../core/plan.ts';
import type { LocalCache } from '../../cache/store.ts';
import type { ExecRequest, Executor, Placement } from '../executor.ts';
import type { RunOutcome } from '../run-instance.ts';
import { BatchDir, EventTail, submissionsFile, tailOf, type BatchFile, type JobEnd, type Submission } from './batch.ts';
import { currentUser, HOPELESS_REASONS, largestNode, sbatch, scancel, squeue, TERMINAL_STATES, type QueueEntry } from './commands.ts';
import { DEFAULT_ARRAY_MAX, sbatchOptions, stageSettings } from './settings.ts';

const JOB_ENTRY = fileURLToPath(new URL('./job.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Options of the slurm executor. */
export interface SlurmOptions {
  cache: LocalCache;
  plan: Plan;
  /** How often the event files are read (default 500 ms). */
  pollMs?: number;
  /** Minimum interval between two `squeue` calls (default 5 s; DAG_SLURM_SQUEUE_S overrides). */
  squeueEveryMs?: number;
  /** How long ready requests are gathered into one array (default 300 ms). */
  windowMs?: number;
}

interface Waiting {
  req: ExecRequest;
  resolve: (o: RunOutcome) => void;
}

interface Task extends Waiting {
  batch: BatchDir;
  index: number;
  where: Placement;
  tail: EventTail;
  submittedAt: number;
  /** The job's end event, once read. */
  end?: JobEnd;
  /** When squeue first showed the task ended (or gone) while its events had no end. */
  silentSince?: number;
}

/** Jobs on a Slurm cluster sharing the cache's file system. */
export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  private readonly groups = new Map<string, Waiting[]>();
  private readonly tasks = new Set<Task>();
  private readonly arrayIds = new Set<string>();
  /** Batch folder -> tasks in it and how many ended well (done or cached). */
  private readonly tally = new Map<string, { total: number; good: number }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly pollTimer: NodeJS.Timeout;
  private lastSqueue = 0;
  private squeueBusy = false;
  private cancelled = false;
  private cancelling: Promise<void> | undefined;
  private batches = 0;
  private readonly token = `${Date.now().toString(36)}-${process.pid}`;
  private readonly squeueEveryMs: number;
  /** Partition ('' = default) -> its largest node. */
  private readonly nodes = new Map<string, Promise<{ cpus: number; memoryMb: number }>>();

  constructor(private readonly opts: SlurmOptions) {
    const env = Number(process.env.DAG_SLURM_SQUEUE_S);
    this.squeueEveryMs = opts.squeueEveryMs ?? (Number.isFinite(env) && env > 0 ? env * 1000 : 5000);
    this.pollTimer = setInterval(() => this.poll(), opts.pollMs ?? 500);
  }

  /**
   * Cap the CPU demand at the partition's largest node, as the local executor caps it at
   * `--jobs` (a stage asking 4 cores still runs on a 2-core node). Asked once per partition.
   */
  private async fit(req: ExecRequest): Promise<ExecRequest> {
    const partition = stageSettings(this.opts.plan, req.spec.stage).partition ?? '';
    let node = this.nodes.get(partition);
    if (!node) {
      node = largestNode(partition || undefined).catch(() => ({ cpus: 0, memoryMb: 0 }));
      this.nodes.set(partition, node);
    }
    const { cpus } = await node;
    return cpus > 0 && req.demand.cpu > cpus ? { ...req, demand: { ...req.demand, cpu: cpus } } : req;
  }

  async run(request: ExecRequest): Promise<RunOutcome> {
    if (this.cancelled) return { state: 'interrupted' };
    const req = await this.fit(request);
    if (this.cancelled) return { state: 'interrupted' };
    return new Promise((resolve) => {
      const args = sbatchOptions(stageSettings(this.opts.plan, req.spec.stage), req.demand);
      const group = JSON.stringify([req.spec.stage, args]);
      const list = this.groups.get(group) ?? [];
      list.push({ req, resolve });
      this.groups.set(group, list);
      this.flushTimer ??= setTimeout(() => void this.flush(), this.opts.windowMs ?? 300);
    });
  }

  /** Submit every gathered group as job arrays of at most `array_max` tasks. */
  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const groups = [...this.groups.values()];
    this.groups.clear();
    const max = this.opts.plan.executor.arrayMax ?? DEFAULT_ARRAY_MAX;
    const submissions: Array<Promise<void>> = [];
    for (const list of groups) {
      for (let i = 0; i < list.length; i += max) submissions.push(this.submit(list.slice(i, i + max)));
    }
    await Promise.all(submissions);
  }

  private async submit(chunk: Waiting[]): Promise<void> {
    if (this.cancelled) {
      for (const w of chunk) w.resolve({ state: 'interrupted' });
      return;
    }
    const { cache, plan } = this.opts;
    const stage = chunk[0]!.req.spec.stage;
    const name = `${this.token}-${++this.batches}`;
    const b = new BatchDir(join(cache.layout.slurm, name));
    mkdirSync(b.dir, { recursive: true });
    const file: BatchFile = { cacheDir: cache.dir, stage, tasks: chunk.map((w) => ({ spec: w.req.spec, demand: w.req.demand })) };
    writeFileSync(b.tasksFile, JSON.stringify(file));
    writeFileSync(b.script, `#!/bin/sh\n# dag: ${chunk.length} instance(s) of stage ${stage}\nexec ${shellQuote(process.execPath)} --import ${shellQuote(TSX)} ${shellQuote(JOB_ENTRY)} ${shellQuote(b.dir)}\n`, { mode: 0o755 });
    const args = [
      ...sbatchOptions(stageSettings(plan, stage), chunk[0]!.req.demand),
      `--job-name=dag:${stage}`,
      `--array=0-${chunk.length - 1}`,
      `--output=${b.logPattern}`,
      `--chdir=${plan.dir}`,
    ];
    let arrayId: string;
    try {
      arrayId = await sbatch(args, b.script);
    } catch (e) {
      for (const w of chunk) w.resolve({ state: 'failed', code: 'SLURM_SUBMIT', message: (e as Error).message, durationMs: 0 });
      return;
    }
    writeFileSync(b.jobIdFile, `${arrayId}\n`);
    const sub: Submission = { t: Date.now(), batch: name, jobId: arrayId, stage, tasks: chunk.length, host: hostname(), pid: process.pid };
    appendFileSync(submissionsFile(cache.layout.slurm), JSON.stringify(sub) + '\n');
    this.arrayIds.add(arrayId);
    this.tally.set(b.dir, { total: chunk.length, good: 0 });
    if (this.cancelled) void scancel([arrayId]).catch(() => undefined); // Ctrl-C came during sbatch
    chunk.forEach((w, index) => {
      const where: Placement = { jobId: `${arrayId}_${index}`, logPath: b.log(index) };
      const task: Task = { ...w, batch: b, index, where, tail: new EventTail(b.events(index)), submittedAt: Date.now() };
      this.tasks.add(task);
      w.req.listener.submitted?.(where);
    });
  }

  /** Read new events of every task; ask squeue about the silent ones now and then. */
  private poll(): void {
    for (const t of this.tasks) this.readEvents(t);
    if (this.tasks.size === 0 || this.squeueBusy || Date.now() - this.lastSqueue < this.squeueEveryMs) return;
    this.squeueBusy = true;
    this.lastSqueue = Date.now();
    squeue(currentUser()).then(
      (queue) => {
        this.squeueBusy = false;
        this.judge(queue);
      },
      (e: unknown) => {
        this.squeueBusy = false;
        // A transient controller hiccup: try again at the next interval; the event files still work.
        process.emitWarning(`squeue failed: ${(e as Error).message}`);
      },
    );
  }

  private readEvents(t: Task): void {
    for (const e of t.tail.read()) {
      switch (e.type) {
        case 'started':
          t.where = { ...t.where, jobId: e.jobId, host: e.host };
          t.req.listener.started(e.device, t.where);
          break;
        case 'progress':
          t.req.listener.progress(e.progress);
          break;
        case 'log':
          t.req.listener.log(e.level, e.message);
          break;
        case 'end':
          t.end = e.end;
          break;
        default:
          break;
      }
    }
    if (t.end && t.end.state !== 'interrupted') this.settle(t, this.outcomeOf(t, t.end));
  }

  private outcomeOf(t: Task, end: Exclude<JobEnd, { state: 'interrupted' }>): RunOutcome {
    switch (end.state) {
      case 'done':
      case 'cached': {
        const record = this.opts.cache.readRecord(end.key);
        if (!record) return { state: 'failed', code: 'SLURM_NO_RECORD', message: `Slurm job ${t.where.jobId} reported ${end.state} but its run record is not visible here (is the cache on a shared file system?); job log: ${t.where.logPath}`, durationMs: 0 };
        return { state: end.state, record };
      }
      case 'failed':
        return { state: 'failed', code: end.code, message: end.message, ...(end.stack ? { stack: end.stack } : {}), durationMs: end.durationMs, logPath: t.where.logPath };
      case 'busy':
        return { state: 'busy', owner: end.owner };
      default: {
        const never: never = end;
        throw new Error(`unhandled job end ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Tasks whose events have no (usable) end: when squeue shows them ended, or no longer
   * knows them, they died without a word (or were stopped by a signal): report the job id,
   * Slurm's state and the log. A short grace lets a just-written end event arrive first.
   */
  private judge(queue: Map<string, QueueEntry>): void {
    const now = Date.now();
    for (const t of this.tasks) {
      if (t.end && t.end.state !== 'interrupted') continue;
      const q = queue.get(t.where.jobId);
      if (q?.state === 'PENDING' && HOPELESS_REASONS.has(q.reason)) {
        const message = `Slurm job ${t.where.jobId} cannot start: squeue says PENDING (${q.reason}): it asks for more than the partition offers or for an account/QOS it may not use (${sbatchOptions(stageSettings(this.opts.plan, t.req.spec.stage), t.req.demand).join(' ')}); cancelled`;
        void scancel([t.where.jobId]).catch(() => undefined);
        this.recordFailure(t, 'SLURM_CANNOT_START', message);
        this.settle(t, { state: 'failed', code: 'SLURM_CANNOT_START', message, durationMs: 0, logPath: t.where.logPath });
        continue;
      }
      const ended = q ? TERMINAL_STATES.has(q.state) : now - t.submittedAt > 30_000;
      if (!ended) continue;
      t.silentSince ??= now;
      this.readEvents(t);
      if (!this.tasks.has(t)) continue;
      if (now - t.silentSince < 2_000 && !t.end) continue;
      const state = q?.state ?? 'UNKNOWN';
      const why = q ? `ended ${state}${q.reason && q.reason !== 'None' ? ` (${q.reason})` : ''}` : 'is no longer known to squeue';
      const message = `Slurm job ${t.where.jobId} ${why} before the instance finished${t.end?.state === 'interrupted' && t.end.signal ? ` (the job got ${t.end.signal})` : ''}; job log: ${t.where.logPath}`;
      this.recordFailure(t, `SLURM_${state}`, message);
      this.settle(t, { state: 'failed', code: `SLURM_${state}`, message, durationMs: 0, logPath: t.where.logPath });
    }
  }

  /** Keep the job's log with a failure record, as a local worker's log is kept (`dag log`). */
  private recordFailure(t: Task, code: string, message: string): void {
    const { spec } = t.req;
    const now = new Date().toISOString();
    try {
      this.opts.cache.writeFailure({
        id: spec.id,
        stage: spec.stage,
        key: spec.key,
        error: { code, message },
        log: `(last lines of Slurm job log ${t.where.logPath})\n${tailOf(t.where.logPath)}`,
        device: { type: 'cpu' },
        startedAt: now,
        endedAt: now,
        durationMs: 0,
      });
    } catch {
      /* the event still says what happened */
    }
  }

  private settle(t: Task, o: RunOutcome): void {
    if (!this.tasks.delete(t)) return;
    const tally = this.tally.get(t.batch.dir);
    if (tally && (o.state === 'done' || o.state === 'cached')) tally.good++;
    t.resolve(o);
  }

  /** Ctrl-C / SIGTERM: scancel every array of this run; every open request ends as interrupted. */
  cancelAll(): Promise<void> {
    this.cancelled = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const list of this.groups.values()) for (const w of list) w.resolve({ state: 'interrupted' });
    this.groups.clear();
    const ids = [...new Set([...this.tasks].map((t) => t.where.jobId.split('_')[0]!))];
    for (const t of [...this.tasks]) this.settle(t, { state: 'interrupted' });
    this.cancelling = scancel(ids).catch((e: unknown) => process.emitWarning(`scancel failed: ${(e as Error).message}`));
    return this.cancelling;
  }

  /** Stop polling; remove the folders of batches that all went well (failed ones keep their logs). */
  async close(): Promise<void> {
    clearInterval(this.pollTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.cancelling;
    for (const [dir, c] of this.tally) if (c.good === c.total) rmSync(dir, { recursive: true, force: true });
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
