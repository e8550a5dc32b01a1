/**
 * `csv`: the generic table layout, one row per image with columns for the path (relative to
 * `root`, or absolute), the class and optionally a group (patient id). Column names and the
 * CSV location are params, so most downloads with a label table need no code.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { readCsvTable, requireDir } from '../fsutil.ts';
import { dataError, examples, makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** The csv adapter. */
export const csvAdapter: DataAdapter = {
  name: 'csv',
  doc: 'Generic: a CSV (csv_file, default <root>/labels.csv) with path_column, label_column and optional group_column',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    requireDir(root, 'the images named by the CSV');
    const csvFile = String(opts.csv_file ?? 'labels.csv');
    const file = isAbsolute(csvFile) ? csvFile : join(root, csvFile);
    const t = readCsvTable(file, `the label table (csv_file) with columns ${String(opts.path_column ?? 'path')} and ${String(opts.label_column ?? 'class')}`);
    const cPath = t.column(String(opts.path_column ?? 'path'));
    const cLabel = t.column(String(opts.label_column ?? 'class'));
    const groupColumn = opts.group_column === undefined || opts.group_column === null || opts.group_column === '' ? undefined : String(opts.group_column);
    const cGroup = groupColumn === undefined ? -1 : t.column(groupColumn);
    const items: DataItem[] = [];
    const missing: string[] = [];
    const escaping: string[] = [];
    t.rows.forEach((r, k) => {
      const rel = (r[cPath] ?? '').trim();
      const className = (r[cLabel] ?? '').trim();
      if (rel === '') throw dataError('DATA_MISSING_FILE', `${file}: row ${k + 2}: empty path`);
      if (className === '') throw dataError('DATA_UNKNOWN_LABEL', `${file}: row ${k + 2}: empty label in column '${t.header[cLabel]}'`);
      const path = isAbsolute(rel) ? rel : join(root, rel);
      if (!insideRoot(root, path)) {
        escaping.push(`row ${k + 2}: ${rel}`);
        return;
      }
      if (!existsSync(path)) {
        missing.push(path);
        return;
      }
      items.push(cGroup >= 0 ? { path, className, group: (r[cGroup] ?? '').trim() } : { path, className });
    });
    if (escaping.length > 0) throw dataError('DATA_PATH_ESCAPE', escapeMessage(file, root, escaping));
    const warnings = missing.length > 0 ? [`${missing.length} row(s) of ${file} name a missing file and are dropped: ${examples(missing)}`] : [];
    return makeResult(items, { grouped: cGroup >= 0, warnings, missing });
  },
};

/** Whether `path` (absolute) lies inside `root` once `..` segments are resolved. */
function insideRoot(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function escapeMessage(file: string, root: string, rows: string[]): string {
  const shown = rows.length <= 3 ? rows.join(', ') : `${rows.slice(0, 3).join(', ')} and ${rows.length - 3} more`;
  return `${file}: ${rows.length} path${rows.length === 1 ? '' : 's'} outside the data root ${root} (${shown}); paths must stay inside root, whose content is what the cache key covers`;
}

/**
 * Plan-time check of the csv adapter's label table (cheap: reads the CSV only): every path
 * row must stay inside root. Returns problems in words; a missing table or column is left
 * to the run, which names it.
 */
export function csvPathProblems(opts: { root?: string; csv_file?: unknown; path_column?: unknown }): string[] {
  const root = opts.root;
  if (root === undefined) return [];
  const csvFile = String(opts.csv_file ?? 'labels.csv');
  const file = isAbsolute(csvFile) ? csvFile : join(root, csvFile);
  let t;
  try {
    t = readCsvTable(file, 'the label table');
  } catch {
    return [];
  }
  const c = t.header.indexOf(String(opts.path_column ?? 'path'));
  if (c < 0) return [];
  const escaping: string[] = [];
  t.rows.forEach((r, k) => {
    const rel = (r[c] ?? '').trim();
    if (rel !== '' && !insideRoot(root, isAbsolute(rel) ? rel : join(root, rel))) escaping.push(`row ${k + 2}: ${rel}`);
  });
  return escaping.length ? [escapeMessage(file, root, escaping)] : [];
}
