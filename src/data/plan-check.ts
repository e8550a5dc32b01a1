/**
 * Plan-time checks of the `preprocess` stage (its `check` hook): cheap problems found before
 * any instance runs. Unusable symlinks under the data root (loop, dangling, outside the
 * root) and, for the csv adapter, path rows that leave the root. Light imports only: the
 * main process runs this for every selected instance.
 */
import { linkProblemsMessage } from '../core/symlinks.ts';
import { csvPathProblems } from './adapters/csv.ts';
import { symlinkProblems } from './fsutil.ts';

/** Problems of one preprocess instance's params (empty: nothing found). */
export function preprocessPlanProblems(params: Record<string, unknown>): string[] {
  const { options, ...rest } = params;
  const p: Record<string, unknown> = options !== null && typeof options === 'object' && !Array.isArray(options) ? { ...rest, ...(options as object) } : rest;
  const root = typeof p.root === 'string' ? p.root : undefined;
  if (root === undefined || p.adapter === 'synthetic') return [];
  const problems: string[] = [];
  const links = symlinkProblems(root);
  if (links.length) problems.push(linkProblemsMessage(root, links));
  if (p.adapter === 'csv') problems.push(...csvPathProblems({ root, csv_file: p.csv_file, path_column: p.path_column }));
  return problems;
}
