/**
 * The small dense-matrix type the statistics core exchanges: row-major, float64 or float32.
 * CCA inputs use the reference's orientation, rows = neurons, columns = datapoints.
 */
import { StatsError } from './errors.ts';

/** A row-major matrix view: element (i, j) is `data[i * cols + j]`. */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array | Float32Array;
}

/** What matrix-taking functions accept: a `Mat` or an array of equal-length rows. */
export type MatLike = Mat | readonly (readonly number[])[];

/** True when `x` is a `Mat` rather than nested rows. */
export function isMat(x: MatLike): x is Mat {
  return !Array.isArray(x);
}

/**
 * Validates and normalises a `MatLike` (nested rows are copied into a Float64Array), naming
 * `what` in errors: ragged rows and a data length that does not equal rows x cols are
 * STATS_BAD_ARGUMENT. Values are not scanned here (callers check finiteness while copying).
 */
export function toMat(x: MatLike, what: string): Mat {
  if (isMat(x)) {
    const { rows, cols, data } = x;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      throw new StatsError('STATS_BAD_ARGUMENT', `${what}: rows and cols must be non-negative integers, got ${rows} x ${cols}`);
    }
    if (!(data instanceof Float64Array || data instanceof Float32Array)) {
      throw new StatsError('STATS_BAD_ARGUMENT', `${what}: data must be a Float64Array or Float32Array`);
    }
    if (data.length !== rows * cols) {
      throw new StatsError('STATS_BAD_ARGUMENT', `${what}: shape ${rows} x ${cols} needs ${rows * cols} values but data holds ${data.length}`);
    }
    return x;
  }
  const rows = x.length;
  const cols = rows > 0 ? (x[0] as readonly number[]).length : 0;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const r = x[i] as readonly number[];
    if (r.length !== cols) {
      throw new StatsError('STATS_BAD_ARGUMENT', `${what}: row ${i} has ${r.length} values but row 0 has ${cols}; rows must be equal length`);
    }
    for (let j = 0; j < cols; j++) data[i * cols + j] = r[j] as number;
  }
  return { rows, cols, data };
}
