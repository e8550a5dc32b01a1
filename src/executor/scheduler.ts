/**
 * The scheduler behind `dag run`: evaluates instances in dependency order as upstream
 * results arrive (early cutoff needs the real upstream output digests), skips cached
 * ones without forking anything, runs the rest in worker processes bounded by the CPU
 * and GPU pools, publishes outputs, and emits events. It never prints.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { DeviceAssignment, UpstreamInput } from './contract.ts';
import type { Instance, Plan } from '../pipeline/plan.ts';
import type { CacheKey } from '../cache/digest.ts';
import type { OutputManifest } from '../cache/key.ts';
import { acquireLock, unlock } from '../cache/lock.ts';
import type { LocalCache, RunRecord } from '../cache/store.ts';
import { describeFsFailure, isFsFailure } from '../cache/fs-errors.ts';
import { KeyBuilder, type Evaluation, type StaticEvaluation } from './analyze.ts';
import { formatReason, type EngineEvent, type EventSink, type RunCounts } from './events.ts';
import { GpuPool, SlotPool, type Release } from './pools.ts';
import type { WorkerContextData } from './worker-protocol.ts';
import { WorkerPool } from './worker-pool.ts';

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

function externalFilesField(files: RunRecord['externalFiles']): Pick<RunRecord, 'externalFiles'> {
  return files ? { externalFiles: files } : {};
}

/** Remove a folder, ignoring failures (a full disk must not hide the error being reported). */
function rmQuietly(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch { /* left for the tmp sweep */ }
}

/** Run the selected instances. Resolves when everything finished, failed or was skipped. */
export async function runPlan(opts: RunOptions): Promise<RunResult> {
  const { plan, cache, selected, emit } = opts;
  const forced = opts.forced ?? new Set<string>();
  const keys = opts.keys ?? new KeyBuilder(plan, cache);
  const t0 = Date.now();
  const counts: RunCounts = { total: selected.size, done: 0, cached: 0, failed: 0, skipped: 0 };
  const warnings: Array<{ id: string; message: string }> = [];
  const cpu = new SlotPool(opts.jobs);
  let gpuPool: GpuPool | undefined;
  const gpuPoolOf = (): GpuPool => (gpuPool ??= new GpuPool(opts.gpus()));
  // A kind whose computation would not use the card (e.g. its tensor backend is wasm) runs on
  // a CPU slot and is recorded as cpu; with an explicit --gpus, preflight refused that already.
  const cardUse = new Map<string, boolean>();
  const usesCard = (kind: string): boolean => {
    let ok = cardUse.get(kind);
    if (ok === undefined) {
      ok = (plan.kinds.get(kind)?.kind.gpuSupport?.(gpuPoolOf().ids) ?? null) === null;
      cardUse.set(kind, ok);
    }
    return ok;
  };
  const workers = new WorkerPool(plan.dir);
  const heldLocks = new Set<CacheKey>();
  let stopping = false;
  let interrupted = false;

  const onAbort = (): void => {
    interrupted = true;
    stopping = true;
    workers.killAll();
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  cache.sweepTmp();
  const ordered = [...plan.instances.keys()].filter((id) => selected.has(id));
  emit({ type: 'plan', t: Date.now(), total: ordered.length, ids: ordered });

  const tasks = new Map<string, Promise<Outcome>>();
  const outside = new Map<string, Outcome>();

  const outsideOutcome = (dep: string): Outcome => {
    const hit = outside.get(dep);
    if (hit) return hit;
    const e = keys.analyze([dep]).get(dep)!;
    const o: Outcome = e.state === 'cached' ? { ok: true, outputs: e.record.outputs, record: e.record } : { ok: false };
    outside.set(dep, o);
    return o;
  };

  const skip = (inst: Instance, reason: string): Outcome => {
    counts.skipped++;
    emit({ type: 'skipped', t: Date.now(), id: inst.id, stage: inst.stage, reason });
    return { ok: false };
  };

  const fail = (inst: Instance, code: string, message: string, durationMs: number, stack?: string): Outcome => {
    counts.failed++;
    if (!opts.keepGoing) stopping = true;
    emit({ type: 'failed', t: Date.now(), id: inst.id, stage: inst.stage, durationMs, error: { code, message, ...(stack ? { stack } : {}) } });
    return { ok: false };
  };

  /** Keep a failed attempt's record; '' when written, else a note to append to the message. */
  const tryWriteFailure = (f: Parameters<LocalCache['writeFailure']>[0]): string => {
    try {
      cache.writeFailure(f);
      return '';
    } catch (e) {
      if (!isFsFailure(e)) throw e;
      return ` (the failure record could not be written either: ${e.code})`;
    }
  };

  const task = (id: string): Promise<Outcome> => {
    let p = tasks.get(id);
    if (!p) {
      p = runTask(id);
      tasks.set(id, p);
    }
    return p;
  };

  const runTask = async (id: string): Promise<Outcome> => {
    const inst = plan.instances.get(id)!;
    const deps = await Promise.all(inst.deps.map((d) => (selected.has(d) ? task(d) : Promise.resolve(outsideOutcome(d)))));
    const upstream = new Map<string, OutputManifest>();
    const records = new Map<string, RunRecord>();
    for (const [i, d] of inst.deps.entries()) {
      const o = deps[i]!;
      if (!o.ok) return skip(inst, interrupted ? 'interrupted' : `upstream did not complete: ${d}`);
      upstream.set(d, o.outputs);
      records.set(d, o.record);
    }
    if (interrupted) return skip(inst, 'interrupted');
    // Evaluated even after a failure: a cached instance is not new work and is reported as cached.
    const ev = keys.evaluate(inst, upstream, forced.has(id));
    switch (ev.state) {
      case 'cached':
        counts.cached++;
        emit({ type: 'cached', t: Date.now(), id, stage: inst.stage, key: ev.key });
        return { ok: true, outputs: ev.record.outputs, record: ev.record };
      case 'missing-input':
        return fail(inst, ev.code, ev.message, 0);
      case 'run':
        if (stopping) return skip(inst, 'stopped after a failure (use --keep-going to run independent branches)');
        emit({ type: 'queued', t: Date.now(), id, stage: inst.stage, reason: ev.reason });
        return execute(inst, ev, records);
      default: {
        const never: never = ev;
        throw new Error(`unhandled evaluation ${JSON.stringify(never)}`);
      }
    }
  };

  const execute = async (inst: Instance, ev: Extract<Evaluation, { state: 'run' }>, upstream: Map<string, RunRecord>): Promise<Outcome> => {
    const { key } = ev;
    try {
      await acquireLock(cache.layout, key, {
        signal: opts.signal,
        onWait: (owner) => emit({ type: 'waiting', t: Date.now(), id: inst.id, stage: inst.stage, on: `lock held by pid ${owner.pid} on ${owner.host}` }),
      });
    } catch (e) {
      if (!isFsFailure(e)) return skip(inst, 'interrupted');
      const f = describeFsFailure(e, `while taking the lock in ${cache.layout.locks}`);
      return fail(inst, f.code, f.message, 0);
    }
    heldLocks.add(key);
    let release: Release | undefined;
    try {
      // Another process may have produced it while we waited for the lock.
      if (ev.reason.kind !== 'forced') {
        const rec = cache.readRecord(key);
        if (rec && cache.checkOutputs(rec).ok) {
          counts.cached++;
          emit({ type: 'cached', t: Date.now(), id: inst.id, stage: inst.stage, key });
          return { ok: true, outputs: rec.outputs, record: rec };
        }
      }
      let device: DeviceAssignment = { type: 'cpu' };
      if (inst.resources.gpu >= 1 && gpuPoolOf().ids.length > 0 && usesCard(inst.kind)) {
        const card = await gpuPoolOf().acquire();
        release = card.release;
        device = { type: 'gpu', id: card.id };
      } else {
        release = await cpu.acquire(inst.resources.cpu || 1);
      }
      if (stopping) return skip(inst, interrupted ? 'interrupted' : 'stopped after a failure (use --keep-going to run independent branches)');
      return await runInWorker(inst, ev, upstream, device);
    } finally {
      release?.();
      unlock(cache.layout, key);
      heldLocks.delete(key);
    }
  };

  const runInWorker = async (
    inst: Instance,
    ev: Extract<Evaluation, { state: 'run' }>,
    upstream: Map<string, RunRecord>,
    device: DeviceAssignment,
  ): Promise<Outcome> => {
    const { key } = ev;
    const outDir = cache.layout.tmpPath('out');
    const workDir = cache.layout.workDir(key);
    try {
      mkdirSync(outDir, { recursive: true });
      mkdirSync(workDir, { recursive: true });
      writeFileSync(cache.layout.workOwnerFile(key), JSON.stringify({ id: inst.id }) + '\n');
    } catch (e) {
      if (!isFsFailure(e)) throw e;
      const f = describeFsFailure(e, `while preparing the instance's folders in ${cache.dir}`);
      return fail(inst, f.code, f.message, 0);
    }
    const inputs: UpstreamInput[] = inst.deps.map((d) => {
      const rec = upstream.get(d)!;
      const up = plan.instances.get(d)!;
      const files: Record<string, string> = {};
      const digests: Record<string, string> = {};
      for (const [p, o] of Object.entries(rec.outputs)) {
        files[p] = cache.objectPath(o.digest);
        digests[p] = o.digest;
      }
      return { stage: up.stage, kind: up.kind, id: d, axes: up.axes, files, digests };
    });
    const loaded = plan.kinds.get(inst.kind)!;
    const ctx: WorkerContextData = {
      id: inst.id,
      stage: inst.stage,
      kind: inst.kind,
      axes: inst.axes,
      params: inst.params,
      inputs,
      outDir,
      workDir,
      seed: inst.seed,
      device,
      cpus: Math.max(1, Math.min(inst.resources.cpu || 1, cpu.size)),
      pipelineDir: plan.dir,
    };
    const startedAt = new Date();
    emit({ type: 'started', t: startedAt.getTime(), id: inst.id, stage: inst.stage, device, etaMs: keys.eta(inst, ev.previous) });
    const logLines: string[] = [];
    const addLog = (level: 'info' | 'warn', message: string): void => {
      logLines.push(level === 'warn' ? `warning: ${message}` : message);
      if (level === 'warn') warnings.push({ id: inst.id, message });
      emit({ type: 'log', t: Date.now(), id: inst.id, stage: inst.stage, level, message });
    };
    const result = await workers.run(loaded.file, pathToFileURL(loaded.file).href, device, loaded.kind.reuseWorker === true, ctx, {
      progress: (progress) => emit({ type: 'progress', t: Date.now(), id: inst.id, stage: inst.stage, progress }),
      log: addLog,
    });
    if (interrupted && !result.ok) {
      rmQuietly(outDir);
      return skip(inst, 'interrupted');
    }
    const endedAt = new Date();
    const durationMs = endedAt.getTime() - startedAt.getTime();
    const log = logLines.join('\n') + (logLines.length ? '\n' : '');
    if (!result.ok) {
      rmQuietly(outDir);
      const unrecorded = tryWriteFailure({
        id: inst.id,
        stage: inst.stage,
        key,
        error: { code: result.code, message: result.message, ...(result.stack ? { stack: result.stack } : {}) },
        log,
        device,
        startedAt: startedAt.toISOString(),
        endedAt: endedAt.toISOString(),
        durationMs,
      });
      return fail(inst, result.code, result.message + unrecorded, durationMs, result.stack);
    }
    // Re-check external inputs: a data set edited during the run makes the outputs unattributable.
    const moved: string[] = [];
    for (const p of inst.externalPaths) {
      keys.forgetExternal(p);
      if (keys.externalDigest(p) !== ev.preimage.external[keys.label(p)]) moved.push(keys.label(p));
    }
    if (moved.length) {
      rmQuietly(outDir);
      const message = `input changed while the stage ran: ${moved.join(', ')}; not recorded, run again`;
      const unrecorded = tryWriteFailure({ id: inst.id, stage: inst.stage, key, error: { code: 'INPUT_CHANGED', message }, log, device, startedAt: startedAt.toISOString(), endedAt: endedAt.toISOString(), durationMs });
      return fail(inst, 'INPUT_CHANGED', message + unrecorded, durationMs);
    }
    try {
      return publish(inst, ev, outDir, workDir, { device, startedAt, endedAt, durationMs, log });
    } catch (e) {
      if (!isFsFailure(e)) throw e;
      // Nothing is recorded (the run record is the commit point); the workDir (checkpoints)
      // stays, so the next run resumes. Objects already moved in are only reclaimable space.
      rmQuietly(outDir);
      const f = describeFsFailure(e, `while publishing the outputs to the cache at ${cache.dir} (nothing was recorded)`);
      const unrecorded = tryWriteFailure({ id: inst.id, stage: inst.stage, key, error: { code: f.code, message: f.message }, log, device, startedAt: startedAt.toISOString(), endedAt: endedAt.toISOString(), durationMs });
      return fail(inst, f.code, f.message + unrecorded, durationMs);
    }
  };

  const publish = (
    inst: Instance,
    ev: Extract<Evaluation, { state: 'run' }>,
    outDir: string,
    workDir: string,
    run: { device: DeviceAssignment; startedAt: Date; endedAt: Date; durationMs: number; log: string },
  ): Outcome => {
    const { key } = ev;
    const { device, startedAt, endedAt, durationMs, log } = run;
    const outputs = cache.publishDir(outDir);
    const record: RunRecord = {
      recordVersion: 1,
      id: inst.id,
      stage: inst.stage,
      kind: inst.kind,
      key,
      preimage: ev.preimage,
      outputs,
      device,
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs,
      log: log ? cache.putBytes(log) : null,
      warnings: warnings.filter((w) => w.id === inst.id).map((w) => w.message),
      ...externalFilesField(keys.externalFilesOf(inst)),
      host: hostname(),
      pid: process.pid,
    };
    cache.writeRecord(record); // the commit point
    if (ev.reason.kind === 'corrupted' && ev.previous) cache.dropCorrupted(ev.previous, outputs);
    rmQuietly(outDir);
    rmQuietly(workDir);
    counts.done++;
    emit({ type: 'done', t: Date.now(), id: inst.id, stage: inst.stage, key, durationMs, device, outputs: Object.keys(outputs).length });
    return { ok: true, outputs, record };
  };

  try {
    await Promise.all(ordered.map((id) => task(id)));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    workers.killAll(); // idle reusable workers
    for (const k of heldLocks) unlock(cache.layout, k);
    try {
      cache.stat.save();
    } catch (e) {
      if (!isFsFailure(e)) throw e;
      // Only memoised digests are lost: the next run re-hashes what it needs.
      warnings.push({ id: '(cache)', message: describeFsFailure(e, `could not save ${cache.layout.statCache}`).message });
    }
  }
  const durationMs = Date.now() - t0;
  const summary: EngineEvent = { type: 'summary', t: Date.now(), counts, durationMs, warnings, interrupted };
  emit(summary);
  return { counts, interrupted, durationMs };
}
