/**
 * Outputs under their own names. The store keeps files by digest (no extension, so a browser
 * shows `report.html` as text and `report.md`'s `figures/…` links resolve nowhere); these
 * helpers lay a run's outputs out as the stage wrote them, as hard links to the read-only
 * objects where the file system allows (no extra space), else as copies:
 *
 * - `dag export --to DIR`: DIR/<stage>/<axis=value,...>/<output path>;
 * - views for `dag open` and the end of `dag run`: cache/views/<key>/<output path>. A key
 *   names exactly one set of outputs, so a view, once complete, never changes; `dag gc`
 *   removes the views of keys it does not keep.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { LocalCache, RunRecord } from './store.ts';

/** How the files were made. */
export interface MaterializeResult {
  files: number;
  linked: number;
  copied: number;
  /** Files that were already in place (same inode, or same size in copy mode). */
  unchanged: number;
  bytes: number;
}

/** Refuse output paths that would leave the destination (`..`, absolute). */
function inside(dir: string, rel: string): string {
  const p = resolve(dir, rel);
  if (p !== dir && !p.startsWith(dir + sep)) throw new Error(`output path '${rel}' leaves ${dir}`);
  return p;
}

/**
 * Place every output of `record` under `dir` by its path. `copy`: independent copies instead
 * of hard links. Existing files are replaced unless they are already the same object.
 */
export function materialize(cache: LocalCache, record: RunRecord, dir: string, opts: { copy?: boolean } = {}): MaterializeResult {
  const res: MaterializeResult = { files: 0, linked: 0, copied: 0, unchanged: 0, bytes: 0 };
  const root = resolve(dir);
  for (const [rel, o] of Object.entries(record.outputs)) {
    const src = cache.objectPath(o.digest);
    const dest = inside(root, rel);
    mkdirSync(dirname(dest), { recursive: true });
    res.files++;
    res.bytes += o.size;
    if (existsSync(dest)) {
      const a = statSync(dest);
      const b = statSync(src);
      if ((a.ino === b.ino && a.dev === b.dev) || (opts.copy && a.size === o.size && a.mtimeMs >= b.mtimeMs)) {
        res.unchanged++;
        continue;
      }
      unlinkSync(dest);
    }
    if (!opts.copy) {
      try {
        linkSync(src, dest);
        res.linked++;
        continue;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // Another file system, or one without hard links: copy.
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw e;
      }
    }
    copyFileSync(src, dest);
    res.copied++;
  }
  return res;
}

/** cache/views/<key>: the run's outputs under their names, made once (atomically) and reused. */
export function viewOf(cache: LocalCache, record: RunRecord): string {
  const dir = join(cache.dir, 'views', record.key);
  const done = join(dir, '.dag-view');
  if (existsSync(done)) return dir;
  const tmp = cache.layout.tmpPath('view');
  mkdirSync(tmp, { recursive: true });
  materialize(cache, record, tmp);
  writeFileSync(join(tmp, '.dag-view'), `${record.id}\n`);
  mkdirSync(dirname(dir), { recursive: true });
  try {
    rmSync(dir, { recursive: true, force: true }); // an incomplete view left by a crash
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(done)) throw e; // else another process made the same view first
  }
  return dir;
}

/** A readable folder name for an instance: `axis=value,axis=value` (`/` and NUL replaced), or null without axes. */
export function instanceDirName(axes: Readonly<Record<string, unknown>>): string | null {
  const parts = Object.entries(axes).map(([k, v]) => `${k}=${String(v)}`);
  if (parts.length === 0) return null;
  return parts.join(',').replace(/[/\\\0]/g, '_');
}
