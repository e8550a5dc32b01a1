/**
 * Configuration problems found in `pipeline.yaml` (and the stage-kind modules it names), as
 * values with a stable code and a source location, plus the compiler-style formatter the CLI
 * prints them with. The loader collects every problem before it returns, so one run shows all.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import type { SourceLocation } from '../core/plan.ts';

/** Re-exported so error consumers need one import. */
export type { SourceLocation } from '../core/plan.ts';

/**
 * Stable codes of configuration problems (documented in docs/pipeline.md). Tools and tests
 * match on these, never on message text.
 */
export type ConfigErrorCode =
  | 'FILE_READ'
  | 'YAML_SYNTAX'
  | 'YAML_WARNING'
  | 'DUPLICATE_KEY'
  | 'UNKNOWN_KEY'
  | 'MISSING_KEY'
  | 'SCHEMA_TYPE'
  | 'UNSUPPORTED_VERSION'
  | 'BAD_NAME'
  | 'UNKNOWN_KIND'
  | 'KIND_LOAD'
  | 'KIND_INVALID'
  | 'DUPLICATE_KIND'
  | 'UNKNOWN_STAGE'
  | 'UNKNOWN_AXIS'
  | 'UNKNOWN_AXIS_VALUE'
  | 'UNKNOWN_COLLECTION'
  | 'BAD_AXIS_VALUE'
  | 'DUPLICATE_AXIS_VALUE'
  | 'EXCLUDE_MATCHES_NOTHING'
  | 'EMPTY_STAGE'
  | 'PARAM_TYPE'
  | 'PARAM_REQUIRED'
  | 'PARAM_UNKNOWN'
  | 'BAD_REFERENCE'
  | 'CYCLE'
  | 'NEED_MATCHES_NOTHING'
  | 'PATH_MISSING';

/** A secondary location attached to an error (e.g. each edge of a cycle). */
export interface ConfigNote {
  message: string;
  loc?: SourceLocation;
}

/**
 * One problem in the pipeline configuration. `code` is stable (see ConfigErrorCode);
 * `loc` is absent only for problems outside the pipeline file with no useful position
 * (a built-in stage module that fails to import names the module in `message`).
 */
export interface ConfigError {
  code: ConfigErrorCode | (string & {});
  message: string;
  loc?: SourceLocation;
  severity: 'error' | 'warning';
  /** Extra locations shown under the main message (every edge of a cycle, ...). */
  notes?: ConfigNote[];
}

/** Show `file` relative to the working directory when it lies inside it (shorter messages). */
export function displayPath(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function readSource(file: string, cache: Map<string, string | null>): string | null {
  if (cache.has(file)) return cache.get(file) ?? null;
  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = null;
  }
  cache.set(file, text);
  return text;
}

/** The offending line with a caret under the column, indented like compiler output. */
function excerpt(loc: SourceLocation, text: string | null): string {
  if (text === null) return '';
  const lines = text.split(/\r?\n/);
  const line = lines[loc.line - 1];
  if (line === undefined) return '';
  const gutter = String(loc.line);
  const pad = ' '.repeat(gutter.length);
  const width = Math.max(1, Math.min(loc.length ?? 1, line.length - (loc.col - 1)));
  // Keep tabs in the caret line so the caret stays under the column in a terminal.
  const lead = line.slice(0, loc.col - 1).replace(/[^\t]/g, ' ');
  return `\n ${gutter} | ${line}\n ${pad} | ${lead}^${'~'.repeat(width - 1)}`;
}

function header(loc: SourceLocation | undefined): string {
  return loc === undefined ? '' : `${displayPath(loc.file)}:${loc.line}:${loc.col}: `;
}

/**
 * Format one problem the way compilers do:
 *
 *     pipeline.yaml:12:7: error[UNKNOWN_KEY]: unknown key 'parms' in stage 'finetune'; did you mean 'params'?
 *      12 |     parms:
 *         |     ^~~~~
 *
 * `sourceText` is the text of `e.loc.file`; when omitted the file is read (notes in other
 * files are always read). The file path is shown relative to the working directory if possible.
 */
export function formatConfigError(e: ConfigError, sourceText?: string): string {
  const cache = new Map<string, string | null>();
  if (sourceText !== undefined && e.loc !== undefined) cache.set(e.loc.file, sourceText);
  return formatWithCache(e, cache);
}

function formatWithCache(e: ConfigError, cache: Map<string, string | null>): string {
  let out = `${header(e.loc)}${e.severity}[${e.code}]: ${e.message}`;
  if (e.loc !== undefined) out += excerpt(e.loc, readSource(e.loc.file, cache));
  for (const note of e.notes ?? []) {
    out += `\n${header(note.loc)}note: ${note.message}`;
    if (note.loc !== undefined) out += excerpt(note.loc, readSource(note.loc.file, cache));
  }
  return out;
}

/**
 * Format many problems (errors first, then warnings, each in file order) separated by blank
 * lines, with a closing count line; files are read once.
 */
export function formatConfigErrors(errors: readonly ConfigError[], sources?: ReadonlyMap<string, string>): string {
  const cache = new Map<string, string | null>(sources ?? []);
  const sorted = [...errors].sort(compareConfigErrors);
  const parts = sorted.map((e) => formatWithCache(e, cache));
  const nErr = errors.filter((e) => e.severity === 'error').length;
  const nWarn = errors.length - nErr;
  const counts = [nErr > 0 ? `${nErr} error${nErr === 1 ? '' : 's'}` : '', nWarn > 0 ? `${nWarn} warning${nWarn === 1 ? '' : 's'}` : '']
    .filter((s) => s !== '')
    .join(', ');
  return counts === '' ? '' : `${parts.join('\n\n')}\n\n${counts}`;
}

/** Order: errors before warnings, then by file, line, column; errors without a location first. */
export function compareConfigErrors(a: ConfigError, b: ConfigError): number {
  if (a.severity !== b.severity) return a.severity === 'error' ? -1 : 1;
  if (a.loc === undefined || b.loc === undefined) return (a.loc === undefined ? 0 : 1) - (b.loc === undefined ? 0 : 1);
  if (a.loc.file !== b.loc.file) return a.loc.file < b.loc.file ? -1 : 1;
  return a.loc.line - b.loc.line || a.loc.col - b.loc.col;
}
