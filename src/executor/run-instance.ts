/**
 * Running one instance against the cache, wherever that happens (in `dag run` itself for
 * the local executor, inside a Slurm job for the slurm executor): take the instance's lock
 * at the moment it is about to run, look once more for a record another process may have
 * published, run the stage in a worker process, re-check external inputs, publish the
 * outputs and write the run record (the commit point), all while holding the lock. So two
 * processes never publish the same key, on one machine or on a shared file system.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AxisValue, DeviceAssignment, Json, UpstreamInput } from '../core/contract.ts';
import type { CacheKey, Digest } from '../cache/digest.ts';
import type { KeyPreimage } from '../cache/key.ts';
import { takeLock, type LockOwner } from '../cache/lock.ts';
import type { LocalCache, RunRecord } from '../cache/store.ts';
import type { ExecListener, InstanceSpec, Placement, RunOutcome } from './executor.ts';
import type { WorkerContextData } from './worker-protocol.ts';
import type { WorkerPool } from './worker-pool.ts';
import { describeFsFailure, isFsFailure } from '../cache/fs-errors.ts';

export type { InstanceSpec, RunOutcome } from './executor.ts';

/** Where and how to run it. */
export interface RunEnv {
  cache: LocalCache;
  workers: WorkerPool;
  device: DeviceAssignment;
  /** CPU slots granted (ctx.cpus). */
  cpus: number;
  listener: ExecListener;
  /** Set when the run as a whole is being stopped (a failed worker then counts as interrupted). */
  signal?: AbortSignal;
  /** The Slurm job this runs in, for the `started` callback. */
  placement?: Placement;
}

function buildContext(spec: InstanceSpec, env: RunEnv, outDir: string, workDir: string): WorkerContextData {
  return {
    id: spec.id,
    stage: spec.stage,
    kind: spec.kind,
    axes: spec.axes,
    params: spec.params,
    inputs: spec.inputs,
    outDir,
    workDir,
    seed: spec.seed,
    device: env.device,
    cpus: env.cpus,
    pipelineDir: spec.pipelineDir,
  };
}

/**
 * Take the lock and run the instance. Returns `busy` at once when another live process
 * holds the lock, `cached` when a valid record appeared since the scheduler looked.
 */
export async function runInstance(spec: InstanceSpec, env: RunEnv): Promise<RunOutcome> {
  const { cache } = env;
  let taken: ReturnType<typeof takeLock>;
  try {
    taken = takeLock(cache.layout, spec.key);
  } catch (e) {
    if (!isFsFailure(e)) throw e;
    return { state: 'failed', ...describeFsFailure(e, `while taking the lock in ${cache.layout.locks}`), durationMs: 0 };
  }
  if (!('lock' in taken)) return { state: 'busy', owner: taken.owner };
  try {
    // Another process may have produced it while we waited for a slot, a card or a node.
    const rec = cache.readRecord(spec.key);
    if (!spec.forced && rec && cache.checkOutputs(rec).ok) return { state: 'cached', record: rec };
    if (env.signal?.aborted) return { state: 'interrupted' };
    return await runLocked(spec, env, rec);
  } finally {
    try { taken.lock.release(); } catch { /* a stale lock is broken by the next run */ }
  }
}

/** Remove a folder, ignoring failures (a full disk must not hide the error being reported). */
function rmQuietly(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch { /* left for the tmp sweep */ }
}

async function runLocked(spec: InstanceSpec, env: RunEnv, previous: RunRecord | undefined): Promise<RunOutcome> {
  const { cache, device, listener } = env;
  const { key } = spec;
  const outDir = cache.layout.tmpPath('out');
  const workDir = cache.layout.workDir(key);
  try {
    mkdirSync(outDir, { recursive: true });
    mkdirSync(workDir, { recursive: true });
    writeFileSync(cache.layout.workOwnerFile(key), JSON.stringify({ id: spec.id }) + '\n');
  } catch (e) {
    if (!isFsFailure(e)) throw e;
    return { state: 'failed', ...describeFsFailure(e, `while preparing the instance's folders in ${cache.dir}`), durationMs: 0 };
  }
  const startedAt = new Date();
  listener.started(device, env.placement);
  const logLines: string[] = [];
  const warnings: string[] = [];
  const result = await env.workers.run(spec.kindFile, spec.moduleUrl, device, spec.reuse, buildContext(spec, env, outDir, workDir), {
    progress: (p) => listener.progress(p),
    log: (level, message) => {
      logLines.push(level === 'warn' ? `warning: ${message}` : message);
      if (level === 'warn') warnings.push(message);
      listener.log(level, message);
    },
  });
  const endedAt = new Date();
  const durationMs = endedAt.getTime() - startedAt.getTime();
  const log = logLines.join('\n') + (logLines.length ? '\n' : '');
  const times = { startedAt: startedAt.toISOString(), endedAt: endedAt.toISOString(), durationMs };
  const failed = (code: string, message: string, stack?: string): RunOutcome => {
    rmQuietly(outDir);
    let note = '';
    try {
      cache.writeFailure({ id: spec.id, stage: spec.stage, key, error: { code, message, ...(stack ? { stack } : {}) }, log, device, ...times });
    } catch (e) {
      if (!isFsFailure(e)) throw e;
      note = ` (the failure record could not be written either: ${e.code})`;
    }
    return { state: 'failed', code, message: message + note, ...(stack ? { stack } : {}), durationMs };
  };
  if (!result.ok) {
    if (env.signal?.aborted) {
      rmQuietly(outDir);
      return { state: 'interrupted' };
    }
    return failed(result.code, result.message, result.stack);
  }
  // Re-check external inputs: a data set edited during the run makes the outputs unattributable.
  const moved = spec.externals.filter((x) => {
    const d = cache.stat.digestPath(x.path);
    return (d.type === 'missing' ? 'missing' : d.type === 'unusable' ? 'unusable' : d.digest) !== x.digest;
  });
  if (moved.length) {
    return failed('INPUT_CHANGED', `input changed while the stage ran: ${moved.map((x) => x.label).join(', ')}; not recorded, run again`);
  }
  try {
    return publish(spec, env, outDir, workDir, previous, { ...times, log, warnings });
  } catch (e) {
    if (!isFsFailure(e)) throw e;
    // Nothing is recorded (the run record is the commit point); the workDir (checkpoints)
    // stays, so the next run resumes. Objects already moved in are only reclaimable space.
    const f = describeFsFailure(e, `while publishing the outputs to the cache at ${cache.dir} (nothing was recorded)`);
    return failed(f.code, f.message);
  }
}

function publish(
  spec: InstanceSpec,
  env: RunEnv,
  outDir: string,
  workDir: string,
  previous: RunRecord | undefined,
  run: { startedAt: string; endedAt: string; durationMs: number; log: string; warnings: string[] },
): RunOutcome {
  const { cache, device } = env;
  const { key } = spec;
  const { log, warnings, ...times } = run;
  const outputs = cache.publishDir(outDir);
  const record: RunRecord = {
    recordVersion: 1,
    id: spec.id,
    stage: spec.stage,
    kind: spec.kind,
    key,
    preimage: spec.preimage,
    outputs,
    device,
    ...times,
    log: log ? cache.putBytes(log) : null,
    warnings,
    ...(spec.externalFiles ? { externalFiles: spec.externalFiles } : {}),
    host: hostname(),
    pid: process.pid,
  };
  cache.writeRecord(record); // the commit point
  // A repaired corrupted record: do not leave the bad copy behind under its old digest.
  if (previous) cache.dropCorrupted(previous, outputs);
  rmQuietly(outDir);
  rmQuietly(workDir);
  return { state: 'done', record };
}
