/**
 * `dag metrics`: every instance's `metrics.json` in one table (numeric fields, nested ones
 * as `a.b`), grouped over the `fold` axis (or `--over AXIS`) with mean ± sd (ddof 1, as
 * pandas), like DVC's `metrics show`; `--json` / `--csv` for other tools. `--diff`: how each
 * metric moved between an instance's previous run and its current one, with what changed
 * in between (params, code, inputs), like DVC's `metrics diff` + `params diff`. Previous
 * runs stay in the cache until `dag gc` (which keeps only the latest; `--keep-all-versions`
 * keeps them all).
 */
import type { Instance } from '../core/plan.ts';
import type { RunRecord } from '../cache/store.ts';
import { describeChange, diffPreimages } from '../cache/key.ts';
import type { Io, PlanContext } from './export.ts';

/** The output file read. */
export const METRICS_FILE = 'metrics.json';

/** One instance's metrics. */
export interface MetricsRow {
  id: string;
  stage: string;
  axes: Record<string, string | number | boolean>;
  metrics: Record<string, number>;
  /** False when this is the latest run of an instance that is not up to date. */
  current: boolean;
}

/** Numeric leaves of a JSON value as `a.b.c` -> number (arrays and strings are left out). */
export function numericLeaves(v: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof v === 'number' && Number.isFinite(v)) out[prefix] = v;
  else if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) numericLeaves(x, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

function readMetrics(l: PlanContext, record: RunRecord): Record<string, number> | undefined {
  const o = record.outputs[METRICS_FILE];
  if (!o) return undefined;
  const text = l.cache.readText(o.digest);
  if (text === undefined) return undefined;
  try {
    return numericLeaves(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The metrics of `ids` (their current run, else their latest, marked not current). */
export function collectMetrics(l: PlanContext, ids: readonly string[]): MetricsRow[] {
  const rows: MetricsRow[] = [];
  const analysis = l.keys.analyze(ids);
  for (const id of ids) {
    const e = analysis.get(id)!;
    let record: RunRecord | undefined;
    let current = false;
    if (e.state === 'cached') {
      record = e.record;
      current = true;
    } else {
      const idx = l.cache.readIndex(id);
      record = idx ? l.cache.readRecord(idx.key) : undefined;
    }
    if (!record) continue;
    const metrics = readMetrics(l, record);
    if (!metrics) continue;
    const inst: Instance = l.plan.instances.get(id)!;
    rows.push({ id, stage: inst.stage, axes: { ...inst.axes }, metrics, current });
  }
  return rows;
}

/** Mean and sample standard deviation (ddof 1; NaN for a single value). */
export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : NaN;
  return { mean, sd };
}

/** A number in `digits` significant digits (default 4; integers as they are). */
export function fmtNum(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return '–';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 10 ** digits ? x.toFixed(0) : Number(x.toPrecision(digits)).toString();
}

/** Columns worth showing: numeric fields, minus axis names and `seed`, in first-seen order. */
function metricColumns(rows: readonly MetricsRow[], only: readonly string[]): string[] {
  if (only.length) return [...only];
  const axes = new Set(rows.flatMap((r) => Object.keys(r.axes)));
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r.metrics)) if (!cols.includes(k) && !axes.has(k) && k !== 'seed') cols.push(k);
  return cols;
}

/** Plain-text table with left-aligned text columns and right-aligned numbers. */
export function table(header: readonly string[], rows: readonly string[][], numeric: (col: number) => boolean): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Options of `dag metrics`. */
export interface MetricsOptions {
  format: 'table' | 'json' | 'csv';
  /** Axis aggregated over (default `fold`); `none`: one row per instance. */
  over: string;
  /** Only these metric names. */
  only: string[];
}

/** `dag metrics`; returns the exit code. */
export function showMetrics(l: PlanContext, ids: readonly string[], opts: MetricsOptions, io: Io): number {
  const rows = collectMetrics(l, ids);
  if (opts.format === 'json') {
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    io.err(`no ${METRICS_FILE} among the ${ids.length} selected instances' runs (dag run first?)`);
    return 1;
  }
  if (opts.format === 'csv') {
    const axes = [...new Set(rows.flatMap((r) => Object.keys(r.axes)))];
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].filter((c) => !opts.only.length || opts.only.includes(c));
    io.out(['id', 'stage', ...axes, 'current', ...cols].map(csvCell).join(','));
    for (const r of rows) {
      io.out([r.id, r.stage, ...axes.map((a) => String(r.axes[a] ?? '')), String(r.current), ...cols.map((c) => (r.metrics[c] === undefined ? '' : String(r.metrics[c])))].map(csvCell).join(','));
    }
    return 0;
  }
  const stages = [...new Set(rows.map((r) => r.stage))];
  stages.forEach((stage, si) => {
    const mine = rows.filter((r) => r.stage === stage);
    const axes = Object.keys(mine[0]!.axes);
    const over = opts.over !== 'none' && axes.includes(opts.over) ? opts.over : undefined;
    const groupAxes = axes.filter((a) => a !== over);
    const groups = new Map<string, MetricsRow[]>();
    for (const r of mine) {
      const k = JSON.stringify(groupAxes.map((a) => r.axes[a]));
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    // Over folds, a field that never varies inside a group (class count, set sizes) is
    // bookkeeping, not a result: shown only when asked for with --metric.
    const varies = (c: string): boolean => [...groups.values()].some((g) => new Set(g.map((r) => r.metrics[c])).size > 1);
    const all = metricColumns(mine, opts.only);
    const cols = over && !opts.only.length ? all.filter(varies) : all;
    const hidden = all.length - cols.length;
    const stale = mine.filter((r) => !r.current).length;
    if (si > 0) io.out('');
    io.out(`${stage}: ${mine.length} instance${mine.length === 1 ? '' : 's'}${over ? `, mean ± sd over ${over}` : ''}${stale ? ` (${stale} not up to date: their latest run)` : ''}`);
    const header = [...groupAxes, ...(over ? ['n'] : []), ...cols];
    const body = [...groups.values()].map((g) => [
      ...groupAxes.map((a) => String(g[0]!.axes[a])),
      ...(over ? [String(g.length)] : []),
      ...cols.map((c) => {
        const xs = g.map((r) => r.metrics[c]).filter((x): x is number => x !== undefined);
        if (xs.length === 0) return '–';
        if (!over) return fmtNum(xs[0]!);
        const { mean, sd } = meanSd(xs);
        return xs.length > 1 ? `${fmtNum(mean, 3)} ± ${fmtNum(sd, 2)}` : fmtNum(mean, 3);
      }),
    ]);
    for (const line of table(header, body, (i) => i >= groupAxes.length)) io.out(`  ${line}`);
    if (hidden) io.out(`  (${hidden} field${hidden === 1 ? '' : 's'} constant within every group not shown: --metric NAME, --csv or --json)`);
  });
  return 0;
}

/** The run of `id` before `record` (the newest record of that instance with another key), if the cache still has one. */
export function previousRun(all: readonly RunRecord[], record: RunRecord): RunRecord | undefined {
  return all
    .filter((r) => r.id === record.id && r.key !== record.key && r.endedAt <= record.endedAt)
    .sort((a, b) => (a.endedAt < b.endedAt ? 1 : -1))[0];
}

/** `dag metrics --diff`: each metric that moved between the previous and the current run; returns the exit code. */
export function diffMetrics(l: PlanContext, ids: readonly string[], opts: Pick<MetricsOptions, 'format' | 'only'>, io: Io): number {
  const all = l.cache.allRecords();
  const analysis = l.keys.analyze(ids);
  const diffs: Array<{ id: string; changes: string[]; metrics: Array<{ name: string; old: number | null; new: number | null }> }> = [];
  let withoutPrevious = 0;
  for (const id of ids) {
    const e = analysis.get(id)!;
    if (e.state !== 'cached') continue;
    const cur = readMetrics(l, e.record);
    if (!cur) continue;
    const prev = previousRun(all, e.record);
    const old = prev ? readMetrics(l, prev) : undefined;
    if (!prev || !old) {
      withoutPrevious++;
      continue;
    }
    const names = [...new Set([...Object.keys(old), ...Object.keys(cur)])].filter((n) => !opts.only.length || opts.only.includes(n));
    const moved = names.filter((n) => old[n] !== cur[n]).map((n) => ({ name: n, old: old[n] ?? null, new: cur[n] ?? null }));
    if (moved.length === 0) continue;
    diffs.push({ id, changes: diffPreimages(prev.preimage, e.record.preimage).map(describeChange), metrics: moved });
  }
  if (opts.format === 'json') {
    io.out(JSON.stringify(diffs, null, 2));
    return 0;
  }
  if (opts.format === 'csv') {
    io.out('id,metric,old,new,change');
    for (const d of diffs) {
      for (const m of d.metrics) io.out([d.id, m.name, m.old ?? '', m.new ?? '', m.old !== null && m.new !== null ? m.new - m.old : ''].map((x) => csvCell(String(x))).join(','));
    }
    return 0;
  }
  if (diffs.length === 0) {
    io.out(`no metric moved between the previous and the current run of any selected instance${withoutPrevious ? ` (${withoutPrevious} have no previous run in the cache; dag gc keeps only the latest)` : ''}`);
    return 0;
  }
  for (const d of diffs) {
    io.out(d.id);
    for (const c of d.changes.slice(0, 4)) io.out(`  changed: ${c}`);
    if (d.changes.length > 4) io.out(`  changed: … and ${d.changes.length - 4} more`);
    const rows = d.metrics.map((m) => [
      m.name,
      m.old === null ? '–' : fmtNum(m.old),
      m.new === null ? '–' : fmtNum(m.new),
      m.old !== null && m.new !== null ? `${m.new - m.old >= 0 ? '+' : ''}${fmtNum(m.new - m.old)}` : '',
    ]);
    for (const line of table(['metric', 'old', 'new', 'change'], rows, (i) => i > 0)) io.out(`    ${line}`);
  }
  if (withoutPrevious) io.out(`(${withoutPrevious} more instance${withoutPrevious === 1 ? ' has' : 's have'} no previous run in the cache)`);
  return 0;
}
