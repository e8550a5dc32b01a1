/**
 * The on-disk layout of the artifact store, in one place so every module agrees:
 *
 * ```
 * cache/VERSION                 layout version ("dag-cache 1")
 * cache/objects/ab/cdef…        file contents by sha256 (read-only once published)
 * cache/runs/<key>.json         run records, written LAST when an instance is published
 * cache/index/<h>.json          instance id -> latest key (h = sha256(id))
 * cache/failed/<h>.json         the last failed attempt of an instance (error + log)
 * cache/locks/<key>.lock        per-key locks {pid, host, procStart, lockedAt}
 * cache/work/<key>/             workDir of an instance: survives crashes, removed on publish
 * cache/tmp/<pid>-<host>-…/     outDirs and temp files (same filesystem -> atomic rename)
 * cache/slurm/<batch>/          one Slurm job (array): tasks.json, <i>.events, <i>.out
 * cache/stat-cache.json         external-file digests memoised by (dev, ino, size, mtime, ctime)
 * ```
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sha256Hex, type CacheKey, type Digest } from './digest.ts';

/** This host in tmp/ names: `h` + 8 hex digits of the hostname's sha256. */
export const HOST_TAG = `h${sha256Hex(hostname()).slice(0, 8)}`;

/** The layout version this code reads and writes. */
export const CACHE_LAYOUT_VERSION = 1;
const VERSION_TEXT = `dag-cache ${CACHE_LAYOUT_VERSION}\n`;

/** A cache directory whose layout version is not the one this build understands. */
export class CacheVersionError extends Error {
  override readonly name = 'CacheVersionError';
  readonly code = 'CACHE_VERSION';
  constructor(readonly dir: string, readonly found: string) {
    super(`${dir} has cache layout "${found.trim()}", this dag reads "${VERSION_TEXT.trim()}"; use another --cache directory or remove it`);
  }
}

/** Paths inside one cache directory. */
export class CacheLayout {
  constructor(readonly root: string) {}
  get objects(): string { return join(this.root, 'objects'); }
  get runs(): string { return join(this.root, 'runs'); }
  get index(): string { return join(this.root, 'index'); }
  get failed(): string { return join(this.root, 'failed'); }
  get locks(): string { return join(this.root, 'locks'); }
  get work(): string { return join(this.root, 'work'); }
  get tmp(): string { return join(this.root, 'tmp'); }
  /** Slurm job batches: task specs, the jobs' event files and logs (see src/executor/slurm). */
  get slurm(): string { return join(this.root, 'slurm'); }
  get statCache(): string { return join(this.root, 'stat-cache.json'); }
  get versionFile(): string { return join(this.root, 'VERSION'); }
  /** Where the object with this digest lives (two-character fan-out like git). */
  objectPath(d: Digest): string { return join(this.objects, d.slice(0, 2), d.slice(2)); }
  runPath(key: CacheKey): string { return join(this.runs, `${key}.json`); }
  indexPath(id: string): string { return join(this.index, `${sha256Hex(id).slice(0, 32)}.json`); }
  failedPath(id: string): string { return join(this.failed, `${sha256Hex(id).slice(0, 32)}.json`); }
  lockPath(key: CacheKey): string { return join(this.locks, `${key}.lock`); }
  workDir(key: CacheKey): string { return join(this.work, key); }
  /**
   * Marker naming the instance that owns a work dir (`{"id": ...}`), so gc can keep the
   * resume state of an instance whose key cannot be computed yet (an upstream must re-run).
   */
  workOwnerFile(key: string): string { return join(this.work, key, '.dag-owner.json'); }

  /** True when the directory already holds a cache (used by read-only commands). */
  exists(): boolean { return existsSync(this.versionFile); }

  /** Throw CacheVersionError when an existing store has another layout version. */
  checkVersion(): void {
    if (existsSync(this.versionFile)) {
      const found = readFileSync(this.versionFile, 'utf8');
      if (found !== VERSION_TEXT) throw new CacheVersionError(this.root, found);
    }
  }

  /** Create the folders and VERSION file, or check the version of an existing store. */
  ensure(): void {
    if (existsSync(this.versionFile)) {
      const found = readFileSync(this.versionFile, 'utf8');
      if (found !== VERSION_TEXT) throw new CacheVersionError(this.root, found);
    } else {
      mkdirSync(this.root, { recursive: true });
      atomicWriteFile(this, this.versionFile, VERSION_TEXT);
    }
    for (const d of [this.objects, this.runs, this.index, this.failed, this.locks, this.work, this.tmp]) {
      mkdirSync(d, { recursive: true });
    }
  }

  /**
   * A fresh path in tmp/ for this process: `<pid>-<host tag>-<random>-<label>`, so the
   * entries of dead processes can be swept, and only by a process on the same host (on a
   * shared cache another node's pids mean nothing here).
   */
  tmpPath(label: string): string {
    return join(this.tmp, `${process.pid}-${HOST_TAG}-${randomBytes(6).toString('hex')}-${label}`);
  }
}

/**
 * Write a file so readers see either the old content or the new one, never a prefix:
 * write to tmp/ on the same filesystem, then rename over the target.
 */
export function atomicWriteFile(layout: CacheLayout, target: string, data: string | Uint8Array, opts: { durable?: boolean } = {}): void {
  mkdirSync(layout.tmp, { recursive: true });
  const tmp = layout.tmpPath('w');
  if (opts.durable && fsyncEnabled()) {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    fsyncDir(dirname(target));
  } else {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  }
}

/**
 * Whether published objects and records are fsynced (default yes). `DAG_NO_FSYNC=1` turns it
 * off, for measuring its cost only: a power cut may then leave a record naming lost bytes.
 */
export function fsyncEnabled(): boolean {
  return process.env.DAG_NO_FSYNC !== '1';
}

/** Flush a file's content to the device (no-op when fsync is disabled). */
export function fsyncFile(file: string): void {
  if (!fsyncEnabled()) return;
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flush a directory's entries (a rename into it) to the device (no-op when disabled). */
export function fsyncDir(dir: string): void {
  if (!fsyncEnabled()) return;
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return; // platforms that cannot open a directory
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    // Some file systems refuse fsync on a directory (EINVAL); the rename is still atomic.
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    closeSync(fd);
  }
}

/** Read and parse a JSON file; undefined when it does not exist or is not valid JSON. */
export function readJsonIfExists<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
