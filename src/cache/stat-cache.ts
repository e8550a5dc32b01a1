/**
 * Digests of files outside the object store (data sets, weights, stage code) and of
 * published objects, memoised by their stat fingerprint (device, inode, size, mtime ns,
 * ctime ns). A 10,000-image folder costs 10,000 `stat` calls on a no-op run instead of
 * reading every byte; any fingerprint mismatch triggers a re-hash of that one file.
 * ctime cannot be set from user space, so a rewrite that restores mtime is still seen.
 *
 * Persisted as one JSON file in the cache directory. Two processes saving at once is
 * harmless: the last rename wins and the loser's entries are simply re-hashed later.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { classifyLink, linkProblemsMessage, type LinkProblem } from '../core/symlinks.ts';
import { join } from 'node:path';
import { digestBytes, digestFileSync, type Digest } from './digest.ts';
import { atomicWriteFile, readJsonIfExists, type CacheLayout } from './layout.ts';

interface Entry {
  /** `${dev}:${ino}:${size}:${mtimeNs}:${ctimeNs}` */
  fp: string;
  digest: Digest;
}

/** What a path (file or folder) digests to, or that it is missing. */
export type PathDigest =
  | { type: 'file'; digest: Digest; size: number }
  | { type: 'dir'; digest: Digest; size: number; files: number; listing: Record<string, Digest> }
  | { type: 'missing' }
  /** A folder holding symlinks that cannot be followed (loop, dangling, pointing outside it). */
  | { type: 'unusable'; message: string };

/** The stat fingerprint of a file; changes whenever its content can have changed. */
export function statFingerprint(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** Memoised file and folder digests keyed by path + stat fingerprint. */
export class StatCache {
  private entries = new Map<string, Entry>();
  private dirty = false;
  /** Files actually read (hashed) since construction: lets the bench prove the cache works. */
  hashedFiles = 0;

  constructor(private readonly layout?: CacheLayout) {
    if (layout) {
      const saved = readJsonIfExists<{ version: number; entries: Record<string, Entry> }>(layout.statCache);
      if (saved?.version === 1) this.entries = new Map(Object.entries(saved.entries));
    }
  }

  /** Digest of one regular file, re-hashed only when its fingerprint changed. */
  digestFile(file: string, st?: BigIntStats): Digest {
    const stats = st ?? statSync(file, { bigint: true });
    const fp = statFingerprint(stats);
    const hit = this.entries.get(file);
    if (hit && hit.fp === fp) return hit.digest;
    const digest = digestFileSync(file);
    this.hashedFiles++;
    // "Racy" files (modified in the last 2 s) could change again within the kernel's
    // coarse timestamp tick without a visible fingerprint change (git's racy-clean
    // problem): hash them again next time rather than trusting the memo.
    const ageNs = BigInt(Date.now()) * 1_000_000n - stats.mtimeNs;
    if (ageNs > 2_000_000_000n) {
      this.entries.set(file, { fp, digest });
      this.dirty = true;
    }
    return digest;
  }

  /**
   * Digest of a file or a folder. A folder digest covers the sorted relative paths and
   * the digest of every file below it (empty folders and symlink targets' names do not
   * count; symlinks are followed).
   */
  digestPath(path: string): PathDigest {
    let st: BigIntStats;
    try {
      st = statSync(path, { bigint: true });
    } catch {
      return { type: 'missing' };
    }
    if (st.isDirectory()) {
      const lines: string[] = [];
      const listing: Record<string, Digest> = {};
      let size = 0;
      let files = 0;
      const rootReal = realpathSync(path);
      const bad: LinkProblem[] = [];
      const walk = (dir: string, rel: string): void => {
        const names = readdirSync(dir).sort();
        for (const name of names) {
          const abs = join(dir, name);
          const r = rel ? `${rel}/${name}` : name;
          if (lstatSync(abs).isSymbolicLink()) {
            const problem = classifyLink(rootReal, path, abs);
            if (problem) {
              bad.push(problem);
              continue;
            }
          }
          let s: BigIntStats;
          try {
            s = statSync(abs, { bigint: true });
          } catch {
            continue; // removed while we walked: the after-run re-check sees the change
          }
          if (s.isDirectory()) walk(abs, r);
          else if (s.isFile()) {
            const d = this.digestFile(abs, s);
            listing[r] = d;
            lines.push(`${r}\0${d}\n`);
            size += Number(s.size);
            files++;
          }
        }
      };
      walk(path, '');
      if (bad.length) return { type: 'unusable', message: linkProblemsMessage(path, bad) };
      return { type: 'dir', digest: digestBytes(`dag-dir-1\n${lines.join('')}`), size, files, listing };
    }
    return { type: 'file', digest: this.digestFile(path, st), size: Number(st.size) };
  }

  /**
   * Whether a published object still has the expected digest: free when its fingerprint
   * is the one recorded at publish/verify time, a full re-hash otherwise.
   */
  objectMatches(file: string, expected: Digest, st?: BigIntStats): boolean {
    try {
      return this.digestFile(file, st) === expected;
    } catch {
      return false;
    }
  }

  /** Record a digest we already know (just computed while publishing). */
  remember(file: string, digest: Digest): void {
    try {
      const st = statSync(file, { bigint: true });
      this.entries.set(file, { fp: statFingerprint(st), digest });
      this.dirty = true;
    } catch {
      /* gone already: nothing to remember */
    }
  }

  /** Drop entries for which `keep(path)` is false (gc uses it for deleted objects). */
  prune(keep: (path: string) => boolean): void {
    for (const p of this.entries.keys()) {
      if (!keep(p)) {
        this.entries.delete(p);
        this.dirty = true;
      }
    }
  }

  /** Persist when something changed. */
  save(): void {
    if (!this.dirty || !this.layout) return;
    atomicWriteFile(this.layout, this.layout.statCache, JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) }));
    this.dirty = false;
  }
}
