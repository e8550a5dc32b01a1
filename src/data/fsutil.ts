/**
 * File-system helpers shared by the adapters: folder checks and listings that fail with a
 * StageError naming the folder, and CSV reading that names the file and a missing column.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { classifyLink, type LinkProblem } from '../core/symlinks.ts';
import { join } from 'node:path';
import { parseCsv as parseCsvText } from './csv-text.ts';
import { byCodePoint, dataError } from './types.ts';

/** Throw DATA_MISSING_DIR unless `dir` is an existing folder; `what` says what it should hold. */
export function requireDir(dir: string, what: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw dataError('DATA_MISSING_DIR', `${dir}: folder not found (expected ${what})`);
  }
}

/** Throw DATA_MISSING_FILE unless `file` exists; `what` says what it should be. */
export function requireFile(file: string, what: string): void {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw dataError('DATA_MISSING_FILE', `${file}: file not found (expected ${what})`);
  }
}

/** Names of the entries of `dir` (sorted, hidden entries skipped), split into files and folders. */
export function listDir(dir: string): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue; // .DS_Store and friends
    if (e.isDirectory()) dirs.push(e.name);
    else if (e.isFile() || e.isSymbolicLink()) files.push(e.name);
  }
  return { files: files.sort(byCodePoint), dirs: dirs.sort(byCodePoint) };
}

/** Every file below `dir` (recursive), as paths relative to `dir` with `/`, sorted. */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const { files, dirs } = listDir(rel === '' ? dir : join(dir, rel));
    for (const f of files) out.push(rel === '' ? f : `${rel}/${f}`);
    for (const d of dirs) visit(rel === '' ? d : `${rel}/${d}`);
  };
  visit('');
  return out.sort(byCodePoint);
}

/** Image extensions the decoder accepts. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp'] as const;

/** Whether a file name has one of IMAGE_EXTENSIONS (case-insensitive). */
export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** A parsed CSV with a header, plus a column accessor that names the file when a column is missing. */
export interface CsvTable {
  file: string;
  header: string[];
  rows: string[][];
  /** Index of a column; throws DATA_MISSING_COLUMN naming the file and the expected column. */
  column(name: string): number;
}

/** Read a CSV file with a header row. */
export function readCsvTable(file: string, what: string): CsvTable {
  requireFile(file, what);
  const { header, rows } = parseCsv(readFileSync(file, 'utf8'), file);
  const trimmed = header.map((h) => h.trim());
  return {
    file,
    header: trimmed,
    rows,
    column(name: string): number {
      const i = trimmed.indexOf(name);
      if (i < 0) {
        throw dataError('DATA_MISSING_COLUMN', `${file}: missing column '${name}' (found columns: ${trimmed.join(', ') || 'none'})`);
      }
      return i;
    },
  };
}

/** Read a header-less CSV (MRNet label files: `case,label` per line) as rows of cells. */
export function readCsvRows(file: string, what: string): string[][] {
  requireFile(file, what);
  const { header, rows } = parseCsv(readFileSync(file, 'utf8'), file);
  return header.length > 0 && header.some((h) => h !== '') ? [header, ...rows] : rows;
}

/** Parse CSV text, turning a format problem into a DATA_BAD_CSV StageError naming the file. */
function parseCsv(text: string, file: string): { header: string[]; rows: string[][] } {
  try {
    return parseCsvText(text, file);
  } catch (e) {
    if (e instanceof Error && (e as { code?: unknown }).code === 'CSV_FORMAT') throw dataError('DATA_BAD_CSV', e.message);
    throw e;
  }
}

/** Python's `str.lstrip(chars)`: drop leading characters that are in the set `chars`. */
export function lstripChars(s: string, chars: string): string {
  let i = 0;
  while (i < s.length && chars.includes(s[i]!)) i++;
  return s.slice(i);
}

/** Python's `str.rstrip(chars)`: drop trailing characters that are in the set `chars`. */
export function rstripChars(s: string, chars: string): string {
  let i = s.length;
  while (i > 0 && chars.includes(s[i - 1]!)) i--;
  return s.slice(0, i);
}

/**
 * Symlinks below `root` that cannot be followed: loops (including a link to one of its own
 * ancestor folders), dangling links and links resolving outside `root`, each named by its
 * path relative to `root`. Links that resolve inside `root` are followed (and walked when
 * they are folders). Hidden entries count too: the cache key hashes them.
 */
export function symlinkProblems(root: string): LinkProblem[] {
  const out: LinkProblem[] = [];
  let rootReal: string;
  try {
    rootReal = realpathSync(root);
  } catch {
    return out;
  }
  const visit = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort(byCodePoint);
    } catch {
      return;
    }
    for (const name of names) {
      const abs = join(dir, name);
      let st;
      try {
        st = lstatSync(abs);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) {
        const p = classifyLink(rootReal, root, abs);
        if (p) {
          out.push(p);
          continue;
        }
        try {
          if (statSync(abs).isDirectory()) visit(abs);
        } catch { /* vanished */ }
      } else if (st.isDirectory()) visit(abs);
    }
  };
  visit(root);
  return out;
}
