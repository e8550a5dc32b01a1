/**
 * `csv`: the generic table layout, one row per image with columns for the path (relative to
 * `root`, or absolute), the class and optionally a group (patient id). Column names and the
 * CSV location are params, so most downloads with a label table need no code.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
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
    t.rows.forEach((r, k) => {
      const rel = (r[cPath] ?? '').trim();
      const className = (r[cLabel] ?? '').trim();
      if (rel === '') throw dataError('DATA_MISSING_FILE', `${file}: row ${k + 2}: empty path`);
      if (className === '') throw dataError('DATA_UNKNOWN_LABEL', `${file}: row ${k + 2}: empty label in column '${t.header[cLabel]}'`);
      const path = isAbsolute(rel) ? rel : join(root, rel);
      if (!existsSync(path)) {
        missing.push(path);
        return;
      }
      items.push(cGroup >= 0 ? { path, className, group: (r[cGroup] ?? '').trim() } : { path, className });
    });
    const warnings = missing.length > 0 ? [`${missing.length} row(s) of ${file} name a missing file and are dropped: ${examples(missing)}`] : [];
    return makeResult(items, { grouped: cGroup >= 0, warnings, missing });
  },
};
