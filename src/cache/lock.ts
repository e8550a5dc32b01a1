/**
 * Per-key locks so no two processes (two `dag run`s, or a controller and a Slurm job on
 * another node) ever compute or publish the same instance at once. The lock is taken when
 * an instance is about to run (it holds a CPU slot, or its Slurm job has started), not
 * when it is queued, so concurrent runs on one cache split the work.
 *
 * A lock file holds its owner: host, pid, process start time and, for a Slurm job, the
 * job id. Its owner refreshes the file's mtime every few seconds (the heartbeat). A lock is
 * stale, and broken by the next process that wants it, when its owner is dead on this host
 * (pid gone or reused), or when its heartbeat is older than the stale limit on any host (a
 * job on another node that died with its node). There is no global lock.
 */
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { CacheKey } from './digest.ts';
import type { CacheLayout } from './layout.ts';

/** Who holds a lock. */
export interface LockOwner {
  pid: number;
  host: string;
  /** Kernel start time of the owner process (/proc/<pid>/stat field 22), null off Linux. */
  procStart: string | null;
  lockedAt: string;
  /** The Slurm job (`123` or `123_4` for an array task) when the owner runs inside one. */
  jobId?: string | null;
}

/** How often a held lock's mtime is refreshed. */
export const HEARTBEAT_MS = 5_000;

/**
 * A lock whose heartbeat is older than this is stale on any host. Overridable with
 * DAG_LOCK_STALE_S (tests, or file systems whose mtime is coarse or lags).
 */
export function staleAfterMs(): number {
  const s = Number(process.env.DAG_LOCK_STALE_S);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 60_000;
}

/** The start time of a process from /proc, which tells a live owner from a reused pid. */
export function processStartTime(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

const SELF_START = processStartTime('self');

/** The owner record this process writes. */
function selfOwner(): LockOwner {
  const jobId = process.env.SLURM_ARRAY_JOB_ID
    ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}`
    : process.env.SLURM_JOB_ID ?? null;
  return { pid: process.pid, host: hostname(), procStart: SELF_START, lockedAt: new Date().toISOString(), jobId };
}

/** True when the process `owner` names is alive on this host (false also for a reused pid). */
function localPidAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: exists but belongs to someone else.
  }
  if (owner.procStart !== null) {
    const now = processStartTime(owner.pid);
    if (now !== null && now !== owner.procStart) return false; // pid reused
  }
  return true;
}

/**
 * True when the owner may still be running: on this host, its pid is alive; on any host,
 * its heartbeat (`heartbeatMs`, the lock file's mtime) is recent. Without a heartbeat
 * another host's owner counts as alive.
 */
export function ownerAlive(owner: LockOwner, heartbeatMs?: number): boolean {
  if (heartbeatMs !== undefined && Date.now() - heartbeatMs > staleAfterMs()) return false;
  if (owner.host !== hostname()) return true;
  return localPidAlive(owner);
}

/** Read a lock file; undefined when absent or unreadable (being written). */
export function readLock(file: string): { owner: LockOwner; raw: string; heartbeatMs: number } | undefined {
  try {
    const raw = readFileSync(file, 'utf8');
    const heartbeatMs = statSync(file).mtimeMs;
    return { owner: JSON.parse(raw) as LockOwner, raw, heartbeatMs };
  } catch {
    return undefined;
  }
}

/** The live owner of `key`'s lock, or undefined when it is free or stale. */
export function liveOwner(layout: CacheLayout, key: CacheKey): LockOwner | undefined {
  const held = readLock(layout.lockPath(key));
  return held && ownerAlive(held.owner, held.heartbeatMs) ? held.owner : undefined;
}

/** In words: `pid 12 on node3` or `Slurm job 4711_3 (pid 12 on node3)`. */
export function describeOwner(owner: LockOwner): string {
  const where = `pid ${owner.pid} on ${owner.host}`;
  return owner.jobId ? `Slurm job ${owner.jobId} (${where})` : where;
}

/** Try once to take the lock of `key`; breaks it first when its owner is dead. */
export function tryLock(layout: CacheLayout, key: CacheKey): boolean {
  const file = layout.lockPath(key);
  const tmp = layout.tmpPath('lock');
  writeFileSync(tmp, JSON.stringify(selfOwner()));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, file); // fails with EEXIST: atomic "create with content", also on NFS v3+
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = readLock(file);
      if (!held || ownerAlive(held.owner, held.heartbeatMs)) return false;
      breakStaleLock(layout, file, held.raw);
    }
    return false;
  } finally {
    try { unlinkSync(tmp); } catch { /* already gone */ }
  }
}

/**
 * Remove a lock judged stale. Two processes may judge it stale at once; moving it aside
 * first and comparing contents means a fresh lock taken in between is put back rather
 * than deleted.
 */
function breakStaleLock(layout: CacheLayout, file: string, staleRaw: string): void {
  const aside = layout.tmpPath('stale-lock');
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else broke it
  }
  let raw = '';
  try { raw = readFileSync(aside, 'utf8'); } catch { /* vanished */ }
  if (raw !== staleRaw) {
    try { linkSync(aside, file); } catch { /* a third process took it: theirs stands */ }
  }
  try { unlinkSync(aside); } catch { /* gone */ }
}

function isOurs(owner: LockOwner): boolean {
  return owner.pid === process.pid && owner.host === hostname();
}

/** Release a lock we hold (only if it is still ours). */
export function unlock(layout: CacheLayout, key: CacheKey): void {
  const file = layout.lockPath(key);
  const held = readLock(file);
  if (held && isOurs(held.owner)) {
    try { unlinkSync(file); } catch { /* gone */ }
  }
}

/** Refresh the heartbeat of a lock we hold; false when it is no longer ours. */
export function heartbeat(layout: CacheLayout, key: CacheKey): boolean {
  const file = layout.lockPath(key);
  const held = readLock(file);
  if (!held || !isOurs(held.owner)) return false;
  try {
    const now = new Date();
    utimesSync(file, now, now);
    return true;
  } catch {
    return false;
  }
}

/**
 * A lock this process holds, with its heartbeat timer. `release` stops the heartbeat and
 * removes the lock; idempotent.
 */
export class HeldLock {
  private readonly timer: NodeJS.Timeout;
  private released = false;
  constructor(private readonly layout: CacheLayout, readonly key: CacheKey) {
    this.timer = setInterval(() => heartbeat(layout, key), HEARTBEAT_MS);
    this.timer.unref();
  }
  /** Stop the heartbeat and remove the lock. */
  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    unlock(this.layout, this.key);
  }
}

/** Take the lock of `key` now, or report who holds it. */
export function takeLock(layout: CacheLayout, key: CacheKey): { lock: HeldLock } | { owner: LockOwner | undefined } {
  if (tryLock(layout, key)) return { lock: new HeldLock(layout, key) };
  return { owner: readLock(layout.lockPath(key))?.owner };
}

/**
 * Resolve once `key`'s lock is free or stale (it is not taken). `onWait` is called once
 * with the owner when a live process holds it.
 */
export async function waitForLock(
  layout: CacheLayout,
  key: CacheKey,
  opts: { signal?: AbortSignal; pollMs?: number; onWait?: (owner: LockOwner) => void } = {},
): Promise<void> {
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) throw new Error('aborted while waiting for a lock');
    const owner = liveOwner(layout, key);
    if (!owner) return;
    if (!told) {
      opts.onWait?.(owner);
      told = true;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}
