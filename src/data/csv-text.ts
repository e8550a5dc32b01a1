/**
 * Minimal CSV reading and writing (RFC 4180 quoting) for the study tables. The paper's
 * CSVs are plain comma-separated text with a header row; pandas and Excel read ours alike.
 */

/** A CSV problem a user can cause (a hand-edited or foreign file); names file, row and column. */
export class CsvError extends Error {
  override readonly name = 'CsvError';
  readonly code = 'CSV_FORMAT';
}

function quote(cell: string): string {
  return /[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** Format one cell: numbers with full precision (as pandas writes floats), the rest as text. */
export function formatCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  return quote(String(value));
}

/** Serialise a header and rows into CSV text ending with a newline. */
export function formatCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): string {
  const lines = [header.map(quote).join(',')];
  for (const row of rows) lines.push(row.map(formatCell).join(','));
  return lines.join('\n') + '\n';
}

/** Parse CSV text into a header and string rows. Empty trailing lines are ignored. */
export function parseCsv(text: string, source = '<csv>'): { header: string[]; rows: string[][] } {
  const records: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let inQuotes = false;
  let i = 0;
  const src = text.replace(/^\uFEFF/, '');
  while (i < src.length) {
    const ch = src[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
      } else cell += ch;
      i++;
      continue;
    }
    if (ch === '"') inQuotes = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      row.push(cell);
      records.push(row);
      row = [];
      cell = '';
      if (ch === '\r' && src[i + 1] === '\n') i++;
    } else cell += ch;
    i++;
  }
  if (inQuotes) throw new CsvError(`${source}: unterminated quoted cell at the end of the file`);
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    records.push(row);
  }
  const nonEmpty = records.filter((r) => !(r.length === 1 && r[0] === ''));
  const header = nonEmpty.shift();
  if (!header) throw new CsvError(`${source}: empty file, expected a header row`);
  nonEmpty.forEach((r, k) => {
    if (r.length !== header.length) {
      throw new CsvError(`${source}: row ${k + 2} has ${r.length} cells, the header has ${header.length}`);
    }
  });
  return { header: header.map((h) => h.trim()), rows: nonEmpty };
}

/** Parse CSV text into objects keyed by header, checking that the required columns exist. */
export function parseCsvObjects(text: string, required: readonly string[], source = '<csv>'): Array<Record<string, string>> {
  const { header, rows } = parseCsv(text, source);
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new CsvError(`${source}: missing column(s) ${missing.join(', ')}; found ${header.join(', ')}`);
  }
  return rows.map((r) => Object.fromEntries(header.map((h, k) => [h, r[k] ?? ''])));
}
