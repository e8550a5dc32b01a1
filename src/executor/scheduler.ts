/**
 * The scheduler behind `dag run`: evaluates instances in dependency order as upstream
 * results arrive (early cutoff needs the real upstream output digests), skips cached
 * ones without running anything, hands the rest to an executor (worker processes on this
 * machine, or Slurm jobs) with what each needs, waits for instances another process is
 * computing, and emits events. It never prints.
 */
import { pathToFileURL } from 'node:url';
import type { DeviceAssignment, UpstreamInput } from '../core/contract.ts';
import type { Instance, Plan } from '../core/plan.ts';
import type { CacheKey } from '../cache/digest.ts';
import type { OutputManifest } from '../cache/key.ts';
import { describeOwner, liveOwner, waitForLock } from '../cache/lock.ts';
import { describeFsFailure, isFsFailure } from '../cache/fs-errors.ts';
import type { LocalCache, RunRecord } from '../cache/store.ts';
import { KeyBuilder, type Evaluation, type StaticEvaluation } from './analyze.ts';
import { formatReason, type EngineEvent, type EventSink, type RunCounts } from './events.ts';
import type { Demand, ExecListener, Executor } from './executor.ts';
import { LocalExecutor } from './local.ts';
import type { InstanceSpec, RunOutcome } from './run-instance.ts';

/** What `runPlan` needs. */
export interface RunOptions {
  plan: Plan;
  cache: LocalCache;
  /** Instances to build (targets plus their upstream, or the `--only` set). */
  selected: ReadonlySet<string>;
  /** Instances re-run even when cached (`--force`). */
  forced?: ReadonlySet<string>;
  /** CPU slots. */
  jobs: number;
  /** GPU card ids, resolved lazily (nvidia-smi is only asked when a GPU instance runs). */
  gpus: () => string[];
  keepGoing?: boolean;
  /** Where instances run (default: a LocalExecutor with `jobs` and `gpus`). */
  executor?: Executor;
  emit: EventSink;
  signal?: AbortSignal;
  /** Reuse an existing KeyBuilder (the CLI already built one for `--only` checks). */
  keys?: KeyBuilder;
}

/** The result of a run. */
export interface RunResult {
  counts: RunCounts;
  interrupted: boolean;
  durationMs: number;
}

type Outcome = { ok: true; outputs: OutputManifest; record: RunRecord } | { ok: false };


/** Why an instance outside an `--only` selection cannot serve as a cached input. */
export interface OnlyProblem {
  /** The upstream instance that is not usable. */
  id: string;
  /** The selected instance that needs it. */
  neededBy: string;
  reason: string;
}

/** For `--only`: every upstream instance outside the selection must be cached and fresh. */
export function checkOnlyInputs(keys: KeyBuilder, selected: ReadonlySet<string>): OnlyProblem[] {
  const problems: OnlyProblem[] = [];
  const seen = new Set<string>();
  for (const id of selected) {
    const inst = keys.plan.instances.get(id)!;
    for (const dep of inst.deps) {
      if (selected.has(dep) || seen.has(dep)) continue;
      seen.add(dep);
      const e = keys.analyze([dep]).get(dep)!;
      const reason = describeNotCached(e);
      if (reason) problems.push({ id: dep, neededBy: id, reason });
    }
  }
  return problems;
}

/** Null when cached; otherwise why not, in words. */
export function describeNotCached(e: StaticEvaluation): string | null {
  switch (e.state) {
    case 'cached':
      return null;
    case 'run':
      return e.reason.kind === 'never-run' ? 'never run' : `stale: ${formatReason(e.reason)}`;
    case 'missing-input':
      return e.message;
    case 'blocked':
      return `upstream not up to date: ${e.on.length <= 3 ? e.on.join(', ') : `${e.on.slice(0, 2).join(', ')} and ${e.on.length - 2} more`}`;
    default: {
      const never: never = e;
      throw new Error(`unhandled ${JSON.stringify(never)}`);
    }
  }
}

const STOPPED = 'stopped after a failure (use --keep-going to run independent branches)';

/**
 * One `dag run`: the counts, the stop flags and the per-instance tasks. Each instance's
 * task waits for its upstream tasks (`outcomeOf`), evaluates its key (`evaluateReady`) and,
 * when it must run, hands it to the executor (`execute`).
 */
class PlanRun {
  readonly counts: RunCounts;
  readonly warnings: Array<{ id: string; message: string }> = [];
  private readonly tasks = new Map<string, Promise<Outcome>>();
  private readonly outside = new Map<string, Outcome>();
  private stopping = false;
  interrupted = false;

  constructor(
    private readonly opts: RunOptions,
    private readonly keys: KeyBuilder,
    private readonly executor: Executor,
  ) {
    this.counts = { total: opts.selected.size, done: 0, cached: 0, failed: 0, skipped: 0 };
  }

  private get plan(): Plan { return this.opts.plan; }
  private get cache(): LocalCache { return this.opts.cache; }
  private emit(e: EngineEvent): void { this.opts.emit(e); }

  /** Ctrl-C / SIGTERM: stop starting work, stop what runs. */
  abort(): void {
    this.interrupted = true;
    this.stopping = true;
    void this.executor.cancelAll();
  }

  /** Run every selected instance; resolves when each finished, failed or was skipped. */
  async runAll(ordered: string[]): Promise<void> {
    await Promise.all(ordered.map((id) => this.task(id)));
  }

  private task(id: string): Promise<Outcome> {
    let p = this.tasks.get(id);
    if (!p) {
      p = this.runTask(id);
      this.tasks.set(id, p);
    }
    return p;
  }

  /** An upstream instance outside the selection counts only when cached. */
  private outsideOutcome(dep: string): Outcome {
    const hit = this.outside.get(dep);
    if (hit) return hit;
    const e = this.keys.analyze([dep]).get(dep)!;
    const o: Outcome = e.state === 'cached' ? { ok: true, outputs: e.record.outputs, record: e.record } : { ok: false };
    this.outside.set(dep, o);
    return o;
  }

  private skip(inst: Instance, reason: string): Outcome {
    this.counts.skipped++;
    this.emit({ type: 'skipped', t: Date.now(), id: inst.id, stage: inst.stage, reason });
    return { ok: false };
  }

  private fail(inst: Instance, code: string, message: string, durationMs: number, stack?: string): Outcome {
    this.counts.failed++;
    if (!this.opts.keepGoing) this.stopping = true;
    this.emit({ type: 'failed', t: Date.now(), id: inst.id, stage: inst.stage, durationMs, error: { code, message, ...(stack ? { stack } : {}) } });
    return { ok: false };
  }

  private cached(inst: Instance, record: RunRecord): Outcome {
    this.counts.cached++;
    this.emit({ type: 'cached', t: Date.now(), id: inst.id, stage: inst.stage, key: record.key });
    return { ok: true, outputs: record.outputs, record };
  }

  /** Wait for the upstream tasks, then evaluate and (maybe) run this instance. */
  private async runTask(id: string): Promise<Outcome> {
    const inst = this.plan.instances.get(id)!;
    const deps = await Promise.all(inst.deps.map((d) => (this.opts.selected.has(d) ? this.task(d) : Promise.resolve(this.outsideOutcome(d)))));
    const upstream = new Map<string, RunRecord>();
    for (const [i, d] of inst.deps.entries()) {
      const o = deps[i]!;
      if (!o.ok) return this.skip(inst, this.interrupted ? 'interrupted' : `upstream did not complete: ${d}`);
      upstream.set(d, o.record);
    }
    if (this.interrupted) return this.skip(inst, 'interrupted');
    return this.evaluateReady(inst, upstream);
  }

  private async evaluateReady(inst: Instance, upstream: Map<string, RunRecord>): Promise<Outcome> {
    const manifests = new Map<string, OutputManifest>([...upstream].map(([d, r]) => [d, r.outputs]));
    // Evaluated even after a failure: a cached instance is not new work and is reported as cached.
    const ev = this.keys.evaluate(inst, manifests, this.opts.forced?.has(inst.id) ?? false);
    switch (ev.state) {
      case 'cached':
        return this.cached(inst, ev.record);
      case 'missing-input':
        return this.fail(inst, ev.code, ev.message, 0);
      case 'run':
        if (this.stopping) return this.skip(inst, STOPPED);
        this.emit({ type: 'queued', t: Date.now(), id: inst.id, stage: inst.stage, reason: ev.reason });
        return this.execute(inst, ev, upstream);
      default: {
        const never: never = ev;
        throw new Error(`unhandled evaluation ${JSON.stringify(never)}`);
      }
    }
  }

  /** What the executor needs to run `inst` anywhere: plain JSON. */
  private specOf(inst: Instance, ev: RunEvaluation, upstream: Map<string, RunRecord>): InstanceSpec {
    const inputs: UpstreamInput[] = inst.deps.map((d) => {
      const rec = upstream.get(d)!;
      const up = this.plan.instances.get(d)!;
      const files: Record<string, string> = {};
      const digests: Record<string, string> = {};
      for (const [p, o] of Object.entries(rec.outputs)) {
        files[p] = this.cache.objectPath(o.digest);
        digests[p] = o.digest;
      }
      return { stage: up.stage, kind: up.kind, id: d, axes: up.axes, files, digests };
    });
    const loaded = this.plan.kinds.get(inst.kind)!;
    const externalFiles = this.keys.externalFilesOf(inst);
    return {
      id: inst.id,
      stage: inst.stage,
      kind: inst.kind,
      key: ev.key,
      preimage: ev.preimage,
      forced: ev.reason.kind === 'forced',
      kindFile: loaded.file,
      moduleUrl: pathToFileURL(loaded.file).href,
      reuse: loaded.kind.reuseWorker === true,
      axes: inst.axes,
      params: inst.params,
      inputs,
      seed: inst.seed,
      pipelineDir: this.plan.dir,
      externals: inst.externalPaths.map((p) => ({ path: p, label: this.keys.label(p), digest: ev.preimage.external[this.keys.label(p)]! })),
      ...(externalFiles ? { externalFiles } : {}),
    };
  }

  /**
   * Whether a GPU kind computes on the cards given (its `gpuSupport`); one that would not
   * (e.g. its tensor backend is wasm) asks for CPU slots and is recorded as cpu. With an
   * explicit --gpus, preflight refused that already.
   */
  private usesCard(kind: string): boolean {
    let ok = this.cardUse.get(kind);
    if (ok === undefined) {
      ok = (this.plan.kinds.get(kind)?.kind.gpuSupport?.(this.opts.gpus()) ?? null) === null;
      this.cardUse.set(kind, ok);
    }
    return ok;
  }

  private readonly cardUse = new Map<string, boolean>();

  /**
   * Hand the instance to the executor. When another process holds its lock (it is
   * computing the same key), wait for that lock without holding a slot, then take its
   * record as cached, or try again if it left none (it failed or died).
   */
  private async execute(inst: Instance, ev: RunEvaluation, upstream: Map<string, RunRecord>): Promise<Outcome> {
    const spec = this.specOf(inst, ev, upstream);
    const time = this.plan.stages.get(inst.stage)?.executor.time ?? this.plan.executor.time;
    const demand: Demand = {
      cpu: inst.resources.cpu || 1,
      gpu: inst.resources.gpu >= 1 && this.usesCard(inst.kind) ? inst.resources.gpu : 0,
      ...(inst.resources.memoryMb ? { memoryMb: inst.resources.memoryMb } : {}),
      ...(time ? { time } : {}),
    };
    let toldWaiting = false;
    for (;;) {
      let owner = liveOwner(this.cache.layout, ev.key);
      if (!owner) {
        const out = await this.executor.run({ spec, demand, listener: this.listenerFor(inst, ev) });
        for (const p of inst.externalPaths) this.keys.forgetExternal(p);
        if (out.state !== 'busy') return this.settle(inst, out);
        owner = out.owner;
      }
      if (owner && !toldWaiting) {
        this.emit({ type: 'waiting', t: Date.now(), id: inst.id, stage: inst.stage, on: `lock held by ${describeOwner(owner)}` });
        toldWaiting = true;
      }
      try {
        await waitForLock(this.cache.layout, ev.key, { signal: this.opts.signal });
      } catch {
        return this.skip(inst, 'interrupted');
      }
      if (this.interrupted) return this.skip(inst, 'interrupted');
      if (!spec.forced) {
        const rec = this.cache.readRecord(ev.key);
        if (rec && this.cache.checkOutputs(rec).ok) return this.cached(inst, rec);
      }
      if (this.stopping) return this.skip(inst, STOPPED);
    }
  }

  private listenerFor(inst: Instance, ev: RunEvaluation): ExecListener {
    const base = { id: inst.id, stage: inst.stage };
    return {
      submitted: (where) => this.emit({ type: 'submitted', t: Date.now(), ...base, executor: this.executor.name, jobId: where.jobId, logPath: where.logPath }),
      started: (device, where) =>
        this.emit({ type: 'started', t: Date.now(), ...base, device, etaMs: this.keys.eta(inst, ev.previous), ...(where ? { jobId: where.jobId, host: where.host ?? null } : {}) }),
      progress: (progress) => this.emit({ type: 'progress', t: Date.now(), ...base, progress }),
      log: (level, message) => {
        if (level === 'warn') this.warnings.push({ id: inst.id, message });
        this.emit({ type: 'log', t: Date.now(), ...base, level, message });
      },
    };
  }

  /** Turn an executor's outcome into counts and events. */
  private settle(inst: Instance, out: Exclude<RunOutcome, { state: 'busy' }>): Outcome {
    switch (out.state) {
      case 'cached':
        return this.cached(inst, out.record);
      case 'interrupted':
        return this.skip(inst, 'interrupted');
      case 'failed':
        return this.fail(inst, out.code, out.message, out.durationMs, out.stack);
      case 'done': {
        const r = out.record;
        this.counts.done++;
        this.emit({ type: 'done', t: Date.now(), id: inst.id, stage: inst.stage, key: r.key, durationMs: r.durationMs, device: r.device, outputs: Object.keys(r.outputs).length });
        return { ok: true, outputs: r.outputs, record: r };
      }
      default: {
        const never: never = out;
        throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
      }
    }
  }
}

type RunEvaluation = Extract<Evaluation, { state: 'run' }>;

/** Run the selected instances. Resolves when everything finished, failed or was skipped. */
export async function runPlan(opts: RunOptions): Promise<RunResult> {
  const { plan, cache, selected, emit } = opts;
  const keys = opts.keys ?? new KeyBuilder(plan, cache);
  const executor = opts.executor ?? new LocalExecutor({ cache, cwd: plan.dir, jobs: opts.jobs, gpus: opts.gpus, signal: opts.signal });
  const t0 = Date.now();
  const run = new PlanRun(opts, keys, executor);
  const onAbort = (): void => run.abort();
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  cache.sweepTmp();
  const ordered = [...plan.instances.keys()].filter((id) => selected.has(id));
  emit({ type: 'plan', t: Date.now(), total: ordered.length, ids: ordered });
  try {
    await run.runAll(ordered);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await executor.close();
    try {
      cache.stat.save();
    } catch (e) {
      if (!isFsFailure(e)) throw e;
      // Only memoised digests are lost: the next run re-hashes what it needs.
      run.warnings.push({ id: '(cache)', message: describeFsFailure(e, `could not save ${cache.layout.statCache}`).message });
    }
  }
  const durationMs = Date.now() - t0;
  emit({ type: 'summary', t: Date.now(), counts: run.counts, durationMs, warnings: run.warnings, interrupted: run.interrupted });
  return { counts: run.counts, interrupted: run.interrupted, durationMs };
}
