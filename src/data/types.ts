/**
 * The data-set adapter contract. An adapter turns a download in its public layout into a
 * list of labelled items (file paths, class names, patient ids) without decoding a single
 * image, so `dag data check` and the `preprocess` stage share one reading of each layout.
 */
import { StageError } from '../core/contract.ts';

/** Decoded pixels: `channels` interleaved 8-bit samples, row-major. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** One labelled image of a data set. */
export interface DataItem {
  /** Absolute file path, or a `synthetic:` pseudo path for generated items. */
  path: string;
  /** Class name as the study writes it (`PNEUMONIA`, `benign`, `acl`). */
  className: string;
  /** Patient / case id when the data set has one; folds then keep a group together. */
  group?: string;
  /** Pixels for items that have no file (synthetic sets); generated on demand. */
  generate?: () => RawImage;
}

/** What an adapter reads from a download. */
export interface AdapterResult {
  items: DataItem[];
  /** Class names in label order (sorted by code point, as Keras sorts them). */
  classes: string[];
  /** Things a user should know (merged ids, duplicate rows, dropped rows); never fatal. */
  warnings: string[];
  /** Files the layout names (CSV rows) that do not exist; the items omit them. */
  missing: string[];
  /** Whether the data set has patient ids (grouped folds) or not (stratified folds). */
  grouped: boolean;
}

/** Adapter options: `root` plus adapter-specific keys from the stage params. */
export interface AdapterOptions {
  root?: string;
  /** Seed for adapters that sample (pcam subset) or generate (synthetic). */
  seed: number;
  [key: string]: unknown;
}

/** A reader for one public layout. */
export interface DataAdapter {
  readonly name: string;
  /** One line for `dag data check --help` and the docs. */
  readonly doc: string;
  /** Whether `root` is needed (every adapter but `synthetic`). */
  readonly needsRoot: boolean;
  read(opts: AdapterOptions): Promise<AdapterResult>;
}

/** Stable error codes of the data layer (the `code` of the StageErrors it throws). */
export type DataErrorCode =
  | 'DATA_MISSING_DIR'
  | 'DATA_MISSING_FILE'
  /** A CSV path column names a file outside the data root. */
  | 'DATA_PATH_ESCAPE'
  /** A symlink under the data root loops, dangles or points outside the root. */
  | 'DATA_BAD_SYMLINK'
  | 'DATA_MISSING_COLUMN'
  | 'DATA_BAD_CSV'
  | 'DATA_UNKNOWN_LABEL'
  | 'DATA_EMPTY_CLASS'
  | 'DATA_EMPTY'
  | 'DATA_BAD_IMAGE'
  | 'DATA_FOLD_ONE_CLASS'
  | 'DATA_FOLDS'
  | 'DATA_SPLITS'
  | 'DATA_BAD_PARAM'
  | 'DATA_UNKNOWN_ADAPTER'
  | 'DATA_ABORTED';

/** A user-caused data problem: a StageError with one of the data layer's codes. */
export function dataError(code: DataErrorCode, message: string): StageError {
  return new StageError(code, message);
}

/** Sort strings by code point (Python's `sorted`), not by locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Build an AdapterResult: sorts items by path (stable listing order) and derives classes. */
export function makeResult(
  items: DataItem[],
  opts: { grouped: boolean; warnings?: string[]; missing?: string[]; classes?: string[] },
): AdapterResult {
  // A deterministic order independent of readdir order; ties (duplicate rows) keep input order.
  const sorted = items.map((it, i) => ({ it, i })).sort((a, b) => byCodePoint(a.it.path, b.it.path) || a.i - b.i).map((x) => x.it);
  const classes = opts.classes ?? [...new Set(items.map((i) => i.className))].sort(byCodePoint);
  return { items: sorted, classes, warnings: opts.warnings ?? [], missing: opts.missing ?? [], grouped: opts.grouped };
}

/** Counts per class and per group, for the manifest and `dag data check`. */
export function countItems(result: AdapterResult): { perClass: Record<string, number>; groups: number | null; perGroupMax: number } {
  const perClass: Record<string, number> = {};
  for (const c of result.classes) perClass[c] = 0;
  const groups = new Map<string, number>();
  for (const it of result.items) {
    perClass[it.className] = (perClass[it.className] ?? 0) + 1;
    if (it.group !== undefined) groups.set(it.group, (groups.get(it.group) ?? 0) + 1);
  }
  return { perClass, groups: result.grouped ? groups.size : null, perGroupMax: Math.max(0, ...groups.values()) };
}

/** Show at most `n` examples of a list in a message. */
export function examples(list: readonly string[], n = 3): string {
  const head = list.slice(0, n).join(', ');
  return list.length > n ? `${head}, ... (${list.length} in all)` : head;
}
