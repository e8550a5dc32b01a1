/**
 * `LocalCache`: the content-addressed artifact store. Outputs are moved into
 * `objects/` by digest (rename inside one filesystem, so an object is either absent or
 * complete), then the run record is written LAST, then the instance index. A process
 * killed at any point leaves either a complete entry or none; orphan objects are only
 * reclaimable space (`dag gc`).
 */
import {
  chmodSync, copyFileSync, readFileSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync,
} from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join, relative } from 'node:path';
import type { DeviceAssignment } from '../core/contract.ts';
import { digestBytes, digestFileSync, type CacheKey, type Digest } from './digest.ts';
import type { KeyPreimage, OutputManifest } from './key.ts';
import { atomicWriteFile, CacheLayout, fsyncDir, fsyncFile, HOST_TAG, readJsonIfExists } from './layout.ts';
import { StatCache } from './stat-cache.ts';

/** What `cache/runs/<key>.json` holds: one successful, published run of an instance. */
export interface RunRecord {
  recordVersion: 1;
  id: string;
  stage: string;
  kind: string;
  key: CacheKey;
  preimage: KeyPreimage;
  outputs: OutputManifest;
  device: DeviceAssignment;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Digest of the instance's log object (null when it logged nothing). */
  log: Digest | null;
  warnings: string[];
  /**
   * Per-file digests of external folder inputs (label -> digest of an object holding the
   * JSON map relative path -> digest), kept for folders of up to 5,000 files so `dag status`
   * can name the file that changed. An object, not inline: many instances share a folder.
   */
  externalFiles?: Record<string, Digest>;
  host: string;
  pid: number;
}

/** What `cache/failed/<h>.json` holds: the last failed attempt of an instance. */
export interface FailureRecord {
  id: string;
  stage: string;
  key: CacheKey;
  error: { code: string; message: string; stack?: string };
  log: string;
  device: DeviceAssignment;
  startedAt: string;
  endedAt: string;
  durationMs: number;
}

/** `cache/index/<h>.json`: the latest key recorded for an instance id. */
export interface IndexEntry {
  id: string;
  key: CacheKey;
  at: string;
}

/** Outcome of checking a record's outputs before trusting it as cached. */
export type OutputCheck = { ok: true } | { ok: false; bad: Array<{ path: string; problem: 'missing' | 'size' | 'digest' }> };

/** A corrupted or missing object found by `verify`. */
export interface VerifyProblem {
  object: string;
  problem: 'digest' | 'missing';
  /** Run records (instance ids) that reference it. */
  usedBy: string[];
}

/** A metadata file `verify` could not use. */
export interface UnreadableEntry {
  file: string;
  kind: 'run record' | 'index entry' | 'failure record';
  problem: string;
}

/** Result of `gc`. */
export interface GcResult {
  removedObjects: number;
  removedRecords: number;
  removedOther: number;
  bytes: number;
}

/** The artifact store rooted at one cache directory. */
export class LocalCache {
  readonly layout: CacheLayout;
  readonly stat: StatCache;

  /** Open (and create when `create`) the store; throws CacheVersionError on a foreign layout. */
  constructor(readonly dir: string, opts: { create?: boolean } = {}) {
    this.layout = new CacheLayout(dir);
    if (opts.create ?? true) this.layout.ensure();
    else this.layout.checkVersion();
    this.stat = new StatCache(this.layout);
  }

  /** Absolute path of an object. */
  objectPath(d: Digest): string {
    return this.layout.objectPath(d);
  }

  /** The run record of a key, if it was published. */
  readRecord(key: CacheKey): RunRecord | undefined {
    return readJsonIfExists<RunRecord>(this.layout.runPath(key));
  }

  /** The latest key recorded for an instance id. */
  readIndex(id: string): IndexEntry | undefined {
    return readJsonIfExists<IndexEntry>(this.layout.indexPath(id));
  }

  /** The last failed attempt of an instance. */
  readFailure(id: string): FailureRecord | undefined {
    return readJsonIfExists<FailureRecord>(this.layout.failedPath(id));
  }

  /**
   * Cheap integrity check used whenever a record is about to be trusted as cached: every
   * object must exist with the recorded size, and its stat fingerprint must be the one
   * seen when it was published or last hashed; a changed fingerprint (any write to the
   * file, a chmod, a replacement) triggers a full re-hash of that object.
   */
  checkOutputs(record: RunRecord): OutputCheck {
    const bad: Array<{ path: string; problem: 'missing' | 'size' | 'digest' }> = [];
    for (const [path, o] of Object.entries(record.outputs)) {
      const file = this.objectPath(o.digest);
      let st: BigIntStats;
      try {
        st = statSync(file, { bigint: true });
      } catch {
        bad.push({ path, problem: 'missing' });
        continue;
      }
      if (Number(st.size) !== o.size) bad.push({ path, problem: 'size' });
      else if (!this.stat.objectMatches(file, o.digest, st)) bad.push({ path, problem: 'digest' });
    }
    return bad.length === 0 ? { ok: true } : { ok: false, bad };
  }

  /** Store one file as an object (moved, not copied, when `move`). */
  putFile(file: string, opts: { move: boolean; syncedDirs?: Set<string> }): { digest: Digest; size: number } {
    const lst = lstatSync(file);
    let src = file;
    if (lst.isSymbolicLink() || !opts.move) {
      // Never move a file we do not own / a link: copy its content into tmp first.
      src = this.layout.tmpPath('obj');
      copyFileSync(file, src);
    }
    const digest = digestFileSync(src);
    const size = statSync(src).size;
    const target = this.objectPath(digest);
    if (existsSync(target) && statSync(target).size === size && this.stat.objectMatches(target, digest)) {
      unlinkSync(src); // already stored (dedup)
    } else {
      const fan = join(this.layout.objects, digest.slice(0, 2));
      mkdirSync(fan, { recursive: true });
      chmodSync(src, 0o444);
      fsyncFile(src); // the bytes reach the device before any record can name them
      renameSync(src, target); // replaces a corrupted copy atomically too
      if (opts.syncedDirs) opts.syncedDirs.add(fan);
      else fsyncDir(fan);
      this.stat.remember(target, digest);
    }
    return { digest, size };
  }

  /** Store bytes (a log) as an object. */
  putBytes(data: string | Uint8Array): Digest {
    const digest = digestBytes(data);
    const target = this.objectPath(digest);
    if (!existsSync(target) || !this.stat.objectMatches(target, digest)) {
      const tmp = this.layout.tmpPath('obj');
      writeFileSync(tmp, data, { mode: 0o444 });
      fsyncFile(tmp);
      const fan = join(this.layout.objects, digest.slice(0, 2));
      mkdirSync(fan, { recursive: true });
      renameSync(tmp, target);
      fsyncDir(fan);
      this.stat.remember(target, digest);
    }
    return digest;
  }

  /** Move every file under `outDir` into the store; returns the output manifest. */
  publishDir(outDir: string): OutputManifest {
    const outputs: OutputManifest = {};
    const syncedDirs = new Set<string>(); // each fan-out folder fsynced once, after all renames
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const abs = join(dir, name);
        const st = statSync(abs);
        if (st.isDirectory()) walk(abs);
        else if (st.isFile()) outputs[relative(outDir, abs).split('\\').join('/')] = this.putFile(abs, { move: true, syncedDirs });
      }
    };
    walk(outDir);
    for (const d of syncedDirs) fsyncDir(d);
    return outputs;
  }

  /** Write the run record (the commit point of a run), then point the index at it. */
  writeRecord(record: RunRecord): void {
    // Durable: objects were fsynced before this; the record follows them. The index entry is
    // not fsynced: losing it costs only the "what changed" explanation, never a re-run.
    atomicWriteFile(this.layout, this.layout.runPath(record.key), JSON.stringify(record), { durable: true });
    const entry: IndexEntry = { id: record.id, key: record.key, at: record.endedAt };
    atomicWriteFile(this.layout, this.layout.indexPath(record.id), JSON.stringify(entry));
    try { rmSync(this.layout.failedPath(record.id), { force: true }); } catch { /* ignore */ }
  }

  /** Keep the error and log of a failed attempt (shown by `dag log` / `dag show`). */
  writeFailure(f: FailureRecord): void {
    atomicWriteFile(this.layout, this.layout.failedPath(f.id), JSON.stringify(f, null, 1));
  }

  /** The text of an object (logs). */
  readText(d: Digest): string | undefined {
    try {
      return readFileSync(this.objectPath(d), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Every run record in the store (for verify, gc, ls of old versions). */
  allRecords(): RunRecord[] {
    const out: RunRecord[] = [];
    let names: string[] = [];
    try { names = readdirSync(this.layout.runs); } catch { return out; }
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const r = readJsonIfExists<RunRecord>(join(this.layout.runs, n));
      if (r) out.push(r);
    }
    return out;
  }

  /** Every index entry. */
  allIndex(): Array<IndexEntry & { file: string }> {
    const out: Array<IndexEntry & { file: string }> = [];
    let names: string[] = [];
    try { names = readdirSync(this.layout.index); } catch { return out; }
    for (const n of names) {
      const file = join(this.layout.index, n);
      const e = readJsonIfExists<IndexEntry>(file);
      if (e) out.push({ ...e, file });
    }
    return out;
  }

  /** Every object digest with its path and size. */
  allObjects(): Array<{ digest: Digest; file: string; size: number }> {
    const out: Array<{ digest: Digest; file: string; size: number }> = [];
    let fans: string[] = [];
    try { fans = readdirSync(this.layout.objects); } catch { return out; }
    for (const fan of fans) {
      const dir = join(this.layout.objects, fan);
      let names: string[] = [];
      try { names = readdirSync(dir); } catch { continue; }
      for (const n of names) {
        const file = join(dir, n);
        out.push({ digest: `${fan}${n}` as Digest, file, size: statSync(file).size });
      }
    }
    return out;
  }

  /**
   * Re-hash every object (full read, no stat shortcut) and check that every record's
   * outputs exist. Good objects refresh their stat-cache entry.
   */
  verify(onProgress?: (done: number, total: number) => void): { checked: number; bytes: number; problems: VerifyProblem[]; unreadable: UnreadableEntry[] } {
    const records = this.allRecords();
    const unreadable = this.unreadableEntries();
    const usedBy = new Map<string, string[]>();
    for (const r of records) {
      for (const o of Object.values(r.outputs)) usedBy.set(o.digest, [...(usedBy.get(o.digest) ?? []), r.id]);
      if (r.log) usedBy.set(r.log, [...(usedBy.get(r.log) ?? []), `${r.id} (log)`]);
      for (const d of Object.values(r.externalFiles ?? {})) usedBy.set(d, [...(usedBy.get(d) ?? []), `${r.id} (input listing)`]);
    }
    const objects = this.allObjects();
    const problems: VerifyProblem[] = [];
    const present = new Set<string>();
    let bytes = 0;
    objects.forEach((o, i) => {
      present.add(o.digest);
      bytes += o.size;
      const actual = digestFileSync(o.file);
      if (actual !== o.digest) problems.push({ object: o.file, problem: 'digest', usedBy: usedBy.get(o.digest) ?? [] });
      else this.stat.remember(o.file, o.digest);
      onProgress?.(i + 1, objects.length);
    });
    for (const [d, ids] of usedBy) {
      if (!present.has(d)) problems.push({ object: this.objectPath(d as Digest), problem: 'missing', usedBy: ids });
    }
    // Read-only: verify never writes (it must work on a full disk or a read-only mount);
    // the fingerprints it confirmed are remembered only for this process.
    return { checked: objects.length, bytes, problems, unreadable };
  }

  /** Run records, index and failure entries that cannot be read or parsed (never throws). */
  unreadableEntries(): UnreadableEntry[] {
    const out: UnreadableEntry[] = [];
    const scan = (dir: string, kind: UnreadableEntry['kind'], valid: (v: unknown) => boolean): void => {
      let names: string[] = [];
      try { names = readdirSync(dir); } catch { return; }
      for (const n of names.sort()) {
        if (!n.endsWith('.json')) continue;
        const file = join(dir, n);
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (e) {
          out.push({ file, kind, problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
          continue;
        }
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch {
          out.push({ file, kind, problem: text.length === 0 ? 'empty' : 'not valid JSON' });
          continue;
        }
        if (!valid(v)) out.push({ file, kind, problem: 'valid JSON but not a ' + kind });
      }
    };
    const obj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
    scan(this.layout.runs, 'run record', (v) => obj(v) && typeof v.key === 'string' && typeof v.id === 'string' && obj(v.outputs));
    scan(this.layout.index, 'index entry', (v) => obj(v) && typeof v.key === 'string' && typeof v.id === 'string');
    scan(this.layout.failed, 'failure record', (v) => obj(v) && typeof v.id === 'string');
    return out;
  }

  /**
   * After a re-run repaired a corrupted record, delete the corrupted objects it named that
   * still do not match their digest (a stage whose bytes changed leaves the bad copy under
   * the old digest; other records using it are broken anyway and re-run as `missing`).
   */
  dropCorrupted(record: RunRecord, keep: OutputManifest): void {
    const kept = new Set(Object.values(keep).map((o) => o.digest));
    for (const o of Object.values(record.outputs)) {
      if (kept.has(o.digest)) continue;
      const file = this.objectPath(o.digest);
      if (existsSync(file) && !this.stat.objectMatches(file, o.digest)) {
        try { unlinkSync(file); } catch { /* gc will */ }
      }
    }
  }

  /**
   * Remove tmp/ entries left by processes of this host that no longer run (named
   * `<pid>-<host tag>-…`; entries of other hosts on a shared cache are left alone).
   */
  sweepTmp(): void {
    let names: string[] = [];
    try { names = readdirSync(this.layout.tmp); } catch { return; }
    for (const n of names) {
      const [pidText, tag] = n.split('-');
      const pid = Number(pidText);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      if (tag && /^h[0-9a-f]{8}$/.test(tag) && tag !== HOST_TAG) continue;
      let alive = true;
      try { process.kill(pid, 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code !== 'ESRCH'; }
      if (!alive) {
        try {
          rmSync(join(this.layout.tmp, n), { recursive: true, force: true });
        } catch { /* not ours to remove (permissions): gc reports it */ }
      }
    }
  }

  /**
   * Delete every record not in `keepKeys`, index/failed entries of ids not in `keepIds`,
   * work dirs of keys not kept (except those owned by an id in `pendingIds`: instances
   * whose key is not known yet because an upstream must run first, so their resume state
   * may still be theirs), and objects no kept record references.
   */
  gc(keepKeys: Set<string>, keepIds: Set<string>, opts: { dryRun: boolean; pendingIds?: Set<string> }): GcResult {
    const res: GcResult = { removedObjects: 0, removedRecords: 0, removedOther: 0, bytes: 0 };
    const rm = (file: string, size: number): void => {
      res.bytes += size;
      if (!opts.dryRun) rmSync(file, { recursive: true, force: true });
    };
    const referenced = new Set<string>();
    for (const r of this.allRecords()) {
      const file = this.layout.runPath(r.key);
      if (keepKeys.has(r.key)) {
        for (const o of Object.values(r.outputs)) referenced.add(o.digest);
        if (r.log) referenced.add(r.log);
        for (const d of Object.values(r.externalFiles ?? {})) referenced.add(d);
      } else {
        res.removedRecords++;
        rm(file, statSync(file).size);
      }
    }
    for (const e of this.allIndex()) {
      if (!keepIds.has(e.id) || !keepKeys.has(e.key)) {
        res.removedOther++;
        rm(e.file, statSync(e.file).size);
      }
    }
    let failed: string[] = [];
    try { failed = readdirSync(this.layout.failed); } catch { /* none */ }
    for (const n of failed) {
      const file = join(this.layout.failed, n);
      const f = readJsonIfExists<FailureRecord>(file);
      if (!f || !keepIds.has(f.id)) {
        res.removedOther++;
        rm(file, statSync(file).size);
      }
    }
    let work: string[] = [];
    try { work = readdirSync(this.layout.work); } catch { /* none */ }
    for (const n of work) {
      const owner = readJsonIfExists<{ id?: unknown }>(this.layout.workOwnerFile(n))?.id;
      const pending = typeof owner === 'string' && (opts.pendingIds?.has(owner) ?? false);
      if (!keepKeys.has(n) && !pending) {
        res.removedOther++;
        rm(join(this.layout.work, n), dirSize(join(this.layout.work, n)));
      }
    }
    // Views (outputs under their names, hard links to objects: materialize.ts) of keys not kept.
    let views: string[] = [];
    try { views = readdirSync(join(this.dir, 'views')); } catch { /* none */ }
    for (const n of views) {
      if (!keepKeys.has(n)) {
        res.removedOther++;
        rm(join(this.dir, 'views', n), 0);
      }
    }
    for (const o of this.allObjects()) {
      if (!referenced.has(o.digest)) {
        res.removedObjects++;
        rm(o.file, o.size);
      }
    }
    if (!opts.dryRun) {
      this.sweepTmp();
      this.stat.prune((p) => !p.startsWith(this.layout.objects) || existsSync(p));
      this.stat.save();
    }
    return res;
  }
}

function dirSize(dir: string): number {
  let total = 0;
  try {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      const st = lstatSync(p);
      total += st.isDirectory() ? dirSize(p) : st.size;
    }
  } catch { /* vanished */ }
  return total;
}
