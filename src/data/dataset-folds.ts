/**
 * Fold assignment for the preprocess stage: GroupKFold on patient ids where the data set has
 * them, seeded StratifiedKFold elsewhere (the study's make_dataframe.py), or the paper
 * repository's own fold CSVs (`splits: DIR`). Folds are numbered 1..K like `val_fold{k}.csv`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { groupKFold, isStatsError, stratifiedKFold } from '../stats/index.ts';
import { readCsvTable } from './fsutil.ts';
import { dataError, examples, type DataItem } from './types.ts';

/** Computed folds (1..K) of items; grouped when every item has a group. */
export function computeFolds(items: readonly DataItem[], k: number, opts: { grouped: boolean; seed: number }): Int32Array {
  try {
    const zeroBased = opts.grouped
      ? groupKFold(items.map((it) => it.group ?? `path:${it.path}`), k)
      : stratifiedKFold(items.map((it) => it.className), k, { shuffle: true, seed: opts.seed });
    return zeroBased.map((f) => f + 1);
  } catch (e) {
    if (isStatsError(e)) throw dataError('DATA_FOLDS', `cannot make ${k} folds: ${e.message}`);
    throw e;
  }
}

/** Fold assignment from split CSVs: fold per item (0 = not in any split file) and what to tell the user. */
export interface SplitAssignment {
  folds: Int32Array;
  warnings: string[];
  /** CSV rows that named no local file (count and a few examples are in `warnings`). */
  unmatchedRows: number;
}

/** A local file, by its path and its path components. */
export interface LocalFile {
  path: string;
  comps: string[];
}

function components(p: string): string[] {
  return p.split(/[\\/]+/).filter((c) => c !== '' && c !== '.');
}

/**
 * Match a foreign path (`../../../data/thyroid/257_1.jpg`) to one local path by path
 * components from the end: the suffix grows until it names one local file. Returns the local
 * path, or 'none' / 'ambiguous'.
 */
export function matchBySuffix(foreign: string, byBase: ReadonlyMap<string, readonly LocalFile[]>): LocalFile | 'none' | 'ambiguous' {
  const comps = components(foreign);
  const base = comps[comps.length - 1];
  if (base === undefined) return 'none';
  let candidates = byBase.get(base) ?? [];
  for (let j = 2; candidates.length > 1 && j <= comps.length; j++) {
    const want = comps[comps.length - j];
    const next = candidates.filter((c) => c.comps[c.comps.length - j] === want);
    if (next.length === 0) return 'ambiguous';
    candidates = next;
  }
  if (candidates.length === 0) return 'none';
  if (candidates.length > 1) return 'ambiguous';
  return candidates[0]!;
}

/**
 * Read `val_fold{k}.csv` (k = 1..K, plus `test_fold{k}.csv` when present: the repository's
 * later files split the paper's held-out fold into val and test) and assign each local item
 * the fold whose file lists it. Rows are matched by the longest needed path suffix. A row
 * whose class differs from the adapter's label is a warning (the adapter's label is kept);
 * when more than half the matched rows disagree the split files belong to another data set
 * or labelling and it is an error.
 */
export function foldsFromSplits(items: readonly DataItem[], dir: string, k: number): SplitAssignment {
  const byBase = new Map<string, LocalFile[]>();
  const labelsAt = new Map<string, Set<string>>();
  for (const it of items) {
    if (!labelsAt.has(it.path)) {
      const comps = components(it.path);
      const base = comps[comps.length - 1] ?? it.path;
      (byBase.get(base) ?? byBase.set(base, []).get(base)!).push({ path: it.path, comps });
      labelsAt.set(it.path, new Set());
    }
    labelsAt.get(it.path)!.add(it.className);
  }
  const foldOf = new Map<string, { fold: number; file: string }>();
  const unmatched: string[] = [];
  const ambiguous: string[] = [];
  const disagree: string[] = [];
  let matchedRows = 0;
  for (let f = 1; f <= k; f++) {
    const files = [join(dir, `val_fold${f}.csv`)];
    if (existsSync(join(dir, `test_fold${f}.csv`))) files.push(join(dir, `test_fold${f}.csv`));
    for (const file of files) {
      const t = readCsvTable(file, `the held-out rows of fold ${f} (columns ,pid,path,class)`);
      const cPath = t.column('path');
      const cClass = t.header.indexOf('class');
      t.rows.forEach((r, i) => {
        const p = (r[cPath] ?? '').trim();
        const m = matchBySuffix(p, byBase);
        if (m === 'none') {
          unmatched.push(`${file}:${i + 2} ${p}`);
          return;
        }
        if (m === 'ambiguous') {
          ambiguous.push(`${file}:${i + 2} ${p}`);
          return;
        }
        matchedRows++;
        const local = m.path;
        const prev = foldOf.get(local);
        if (prev && prev.fold !== f) {
          throw dataError('DATA_SPLITS', `${file}: row ${i + 2} puts ${p} in fold ${f}, but ${prev.file} puts it in fold ${prev.fold}`);
        }
        foldOf.set(local, { fold: f, file });
        const cls = cClass >= 0 ? (r[cClass] ?? '').trim() : '';
        if (cls !== '' && !labelsAt.get(local)!.has(cls)) disagree.push(`${p}: split says '${cls}', adapter says '${[...labelsAt.get(local)!].join('/')}'`);
      });
    }
  }
  const warnings: string[] = [];
  if (matchedRows > 0 && disagree.length > matchedRows / 2) {
    throw dataError('DATA_SPLITS', `${dir}: ${disagree.length} of ${matchedRows} split rows disagree with the adapter's labels (wrong data set, or a different labelling?): ${examples(disagree)}`);
  }
  if (disagree.length > 0) warnings.push(`${disagree.length} split row(s) carry a class other than the adapter's label; the adapter's label is used: ${examples(disagree)}`);
  if (unmatched.length > 0) warnings.push(`${unmatched.length} split row(s) match no local file (dropped, as Keras drops missing files): ${examples(unmatched)}`);
  if (ambiguous.length > 0) warnings.push(`${ambiguous.length} split row(s) match several local files and are ignored: ${examples(ambiguous)}`);
  const folds = new Int32Array(items.length);
  const outside: string[] = [];
  items.forEach((it, i) => {
    const hit = foldOf.get(it.path);
    folds[i] = hit ? hit.fold : 0;
    if (!hit) outside.push(it.path);
  });
  if (outside.length > 0) warnings.push(`${outside.length} local image(s) are in no split file and are left out: ${examples(outside)}`);
  if (foldOf.size === 0) throw dataError('DATA_SPLITS', `${dir}: no row of the split files matches a local file (e.g. ${examples(unmatched)})`);
  return { folds, warnings, unmatchedRows: unmatched.length + ambiguous.length };
}

/**
 * Check the fold assignment: every fold holds images, and at least two classes (a held-out
 * fold with one class has no AUC and an uninformative validation loss).
 */
export function checkFolds(labels: Int32Array, folds: Int32Array, k: number, classes: readonly string[]): number[] {
  const counts = new Array<number>(k).fill(0);
  const classSets = Array.from({ length: k }, () => new Set<number>());
  for (let i = 0; i < folds.length; i++) {
    const f = folds[i]! - 1;
    counts[f]!++;
    classSets[f]!.add(labels[i]!);
  }
  for (let f = 0; f < k; f++) {
    if (counts[f] === 0) throw dataError('DATA_FOLDS', `fold ${f + 1} of ${k} holds no image`);
    if (classSets[f]!.size < 2) {
      const only = classes[[...classSets[f]!][0]!] ?? '?';
      throw dataError('DATA_FOLD_ONE_CLASS', `fold ${f + 1} of ${k} holds only class '${only}' (${counts[f]} images); expected at least two classes per fold`);
    }
  }
  return counts;
}
