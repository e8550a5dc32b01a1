/**
 * `dag export`, `dag open` and the report line at the end of `dag run`: outputs under their
 * own names (src/cache/materialize.ts) instead of extension-less objects in the store.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { KeyBuilder } from '../executor/analyze.ts';
import type { Plan } from '../core/plan.ts';
import type { CacheKey } from '../cache/digest.ts';
import type { LocalCache, RunRecord } from '../cache/store.ts';
import { instanceDirName, materialize, viewOf } from '../cache/materialize.ts';

/** What these commands need of a loaded pipeline. */
export interface PlanContext {
  plan: Plan;
  cache: LocalCache;
  keys: KeyBuilder;
}

/** Where these commands write. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The record an instance's outputs come from: its current run, else its latest (`current: false`). */
export function recordOf(l: PlanContext, id: string): { record: RunRecord; current: boolean } | undefined {
  const e = l.keys.analyze([id]).get(id)!;
  if (e.state === 'cached') return { record: e.record, current: true };
  const idx = l.cache.readIndex(id);
  const record = idx ? l.cache.readRecord(idx.key) : undefined;
  return record ? { record, current: false } : undefined;
}

/** Top-level `.html` outputs: what a browser should open (a report). */
export function htmlOutputs(record: RunRecord): string[] {
  return Object.keys(record.outputs).filter((p) => !p.includes('/') && p.endsWith('.html')).sort();
}

/** Where an instance's outputs go in an export: DIR/<stage>/<axis=value,...>. */
export function exportDir(to: string, stage: string, axes: Readonly<Record<string, unknown>>): string {
  const name = instanceDirName(axes);
  return name === null ? join(to, stage) : join(to, stage, name);
}

/** Options of `dag export`. */
export interface ExportOptions {
  to: string;
  /** Copies instead of hard links. */
  copy?: boolean;
}

/**
 * Export the up-to-date outputs of `ids` under DIR/<stage>/<axes>/<path>, write
 * DIR/dag-export.json (instance -> folder, key, files), name the report(s). Instances that
 * are not up to date are listed, not exported. Exit code: 0, or 1 when nothing was exported.
 */
export function exportOutputs(l: PlanContext, ids: readonly string[], opts: ExportOptions, io: Io, fmt: { bytes(n: number): string }): number {
  const to = resolve(opts.to);
  mkdirSync(to, { recursive: true });
  const analysis = l.keys.analyze(ids);
  const index: Array<{ id: string; stage: string; key: string; dir: string; files: string[] }> = [];
  const notCurrent: string[] = [];
  const reports: string[] = [];
  let files = 0;
  let linked = 0;
  let copied = 0;
  let bytes = 0;
  for (const id of ids) {
    const e = analysis.get(id)!;
    if (e.state !== 'cached') {
      notCurrent.push(id);
      continue;
    }
    const inst = l.plan.instances.get(id)!;
    const dir = exportDir(to, inst.stage, inst.axes);
    const r = materialize(l.cache, e.record, dir, { copy: opts.copy ?? false });
    files += r.files;
    linked += r.linked;
    copied += r.copied;
    bytes += r.bytes;
    index.push({ id, stage: inst.stage, key: e.record.key, dir: dir.slice(to.length + 1), files: Object.keys(e.record.outputs).sort() });
    for (const h of htmlOutputs(e.record)) reports.push(join(dir, h));
  }
  writeFileSync(join(to, 'dag-export.json'), JSON.stringify({ pipeline: l.plan.file, exportedAt: new Date().toISOString(), instances: index }, null, 2) + '\n');
  const how = opts.copy ? `${copied} copies` : `${linked} hard links${copied ? `, ${copied} copies (another file system)` : ''}`;
  io.out(`exported ${index.length} instance${index.length === 1 ? '' : 's'}, ${files} files (${fmt.bytes(bytes)}; ${how}) to ${to}`);
  if (!opts.copy && linked > 0) io.out('  the files are hard links to the read-only cache objects: copy before editing (or export with --copy)');
  for (const p of reports) io.out(`  open ${p}`);
  if (notCurrent.length) {
    io.err(`not exported, not up to date (${notCurrent.length}): ${notCurrent.slice(0, 5).join(', ')}${notCurrent.length > 5 ? ` and ${notCurrent.length - 5} more` : ''}; dag run builds them`);
  }
  return index.length === 0 && ids.length > 0 ? 1 : 0;
}

/** The file `dag open ID` shows when none is named: report.html, the only html output, or the only output. */
export function defaultFile(record: RunRecord): string | undefined {
  const names = Object.keys(record.outputs);
  const html = htmlOutputs(record);
  if (html.includes('report.html')) return 'report.html';
  if (html.length === 1) return html[0];
  if (names.length === 1) return names[0];
  return undefined;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

/**
 * Open a file with the desktop's default application, when there is a desktop: `open` on
 * macOS, `start` on Windows, `xdg-open` with DISPLAY / WAYLAND_DISPLAY elsewhere. Never
 * fails; returns whether it tried.
 */
export function openOnDesktop(path: string): boolean {
  let cmd: string | undefined;
  let args: string[] = [path];
  if (process.platform === 'darwin') cmd = 'open';
  else if (process.platform === 'win32') {
    cmd = 'cmd';
    args = ['/c', 'start', '""', path];
  } else if ((process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && onPath('xdg-open')) cmd = 'xdg-open';
  if (!cmd) return false;
  try {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/**
 * `dag open ID [FILE]`: print the path of FILE (default: the report) under its own name in
 * the instance's view (cache/views/<key>/, next to its figures and tables so relative links
 * work), and open it where a desktop is available. Returns the exit code.
 */
export function openOutput(l: PlanContext, id: string, file: string | undefined, opts: { open: boolean }, io: Io): number {
  const found = recordOf(l, id);
  if (!found) {
    io.err(`${id} has no completed run; dag run '${id}'`);
    return 1;
  }
  const { record, current } = found;
  const name = file ?? defaultFile(record);
  if (!name) {
    io.err(`name a file of ${id}: ${Object.keys(record.outputs).join(', ')}`);
    return 2;
  }
  if (!record.outputs[name]) {
    io.err(`${id} has no output '${name}'; outputs: ${Object.keys(record.outputs).join(', ')}`);
    return 1;
  }
  const check = l.cache.checkOutputs(record);
  if (!check.ok) {
    io.err(`${id}: its outputs in the store are corrupted or missing; dag run '${id}' rebuilds them`);
    return 1;
  }
  if (!current) io.err(`note: ${id} is not up to date; this is its latest run (${record.endedAt})`);
  const path = join(viewOf(l.cache, record), name);
  io.out(path);
  if (opts.open) openOnDesktop(path);
  return 0;
}

/** Views of the html outputs among the runs of a finished `dag run` (id -> key), for its last lines. */
export function reportPaths(cache: LocalCache, keys: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const key of keys.values()) {
    const record = cache.readRecord(key as CacheKey);
    if (!record) continue;
    const html = htmlOutputs(record);
    if (html.length === 0) continue;
    const view = viewOf(cache, record);
    for (const h of html) out.push(join(view, h));
  }
  return out;
}
