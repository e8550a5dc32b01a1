/**
 * Per-key locks so two `dag run` processes on one cache never run the same instance
 * twice at once: the second waits, then finds the first one's record. A lock file holds
 * its owner (pid, host, process start time); a lock whose owner is dead on this host is
 * stale and is broken by the next process that wants it, so a `kill -9` never wedges
 * the cache. There is no global lock.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
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

/** True when the owner may still be running (always true for another host's lock). */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
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

/** Read a lock file; undefined when absent or unreadable (being written). */
export function readLock(file: string): { owner: LockOwner; raw: string } | undefined {
  try {
    const raw = readFileSync(file, 'utf8');
    return { owner: JSON.parse(raw) as LockOwner, raw };
  } catch {
    return undefined;
  }
}

/** Try once to take the lock of `key`; breaks it first when its owner is dead. */
export function tryLock(layout: CacheLayout, key: CacheKey): boolean {
  const file = layout.lockPath(key);
  const owner: LockOwner = { pid: process.pid, host: hostname(), procStart: SELF_START, lockedAt: new Date().toISOString() };
  const tmp = layout.tmpPath('lock');
  writeFileSync(tmp, JSON.stringify(owner));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, file); // fails with EEXIST: atomic "create with content"
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = readLock(file);
      if (!held || ownerAlive(held.owner)) return false;
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

/** Release a lock we hold (only if it is still ours). */
export function unlock(layout: CacheLayout, key: CacheKey): void {
  const file = layout.lockPath(key);
  const held = readLock(file);
  if (held && held.owner.pid === process.pid && held.owner.host === hostname()) {
    try { unlinkSync(file); } catch { /* gone */ }
  }
}

/**
 * Wait until the lock of `key` is ours. `onWait` is called once when another live
 * process holds it (the reporter shows "waiting for pid N").
 */
export async function acquireLock(
  layout: CacheLayout,
  key: CacheKey,
  opts: { signal?: AbortSignal; pollMs?: number; onWait?: (owner: LockOwner) => void } = {},
): Promise<void> {
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) throw new Error('aborted while waiting for a lock');
    if (tryLock(layout, key)) return;
    if (!told) {
      const held = readLock(layout.lockPath(key));
      if (held) opts.onWait?.(held.owner);
      told = true;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}
