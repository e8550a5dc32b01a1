/**
 * Reading the paper's published result CSVs (`AUC.csv`, `CCA_<t>.csv`, `similarity.csv`,
 * optionally `simVSauc*.csv`) from a folder, so the report can put the published numbers
 * beside ours. Missing optional files are tolerated; a missing AUC.csv is a user error.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinGain } from './gain.ts';
import { LAYERS } from './names.ts';
import { parseAucCsv, parseCcaCsv, parseSimilarityCsv, type AucRecord, type CcaRecord, type FitRecord, type SimilarityRecord } from './records.ts';
import type { ReferenceResults } from './report.ts';

/** The reference folder lacks a required file; names the folder and the file. */
export class ReferenceError extends Error {
  override readonly name = 'ReferenceError';
  readonly code = 'REFERENCE_MISSING';
}

/** The raw published records of a reference folder. */
export interface ReferenceRecords {
  dir: string;
  auc: AucRecord[];
  cca: CcaRecord[];
  similarity: SimilarityRecord[];
}

/** Read a reference folder: AUC.csv (required), every CCA_<t>.csv, similarity.csv (optional). */
export function readReferenceRecords(dir: string): ReferenceRecords {
  const aucFile = join(dir, 'AUC.csv');
  if (!existsSync(aucFile)) throw new ReferenceError(`${aucFile} not found: the reference folder must hold the paper's AUC.csv`);
  const auc = parseAucCsv(readFileSync(aucFile, 'utf8'), aucFile);
  const cca: CcaRecord[] = [];
  for (const f of readdirSync(dir).filter((n) => /^CCA_.+\.csv$/.test(n)).sort()) {
    cca.push(...parseCcaCsv(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
  }
  const simFile = join(dir, 'similarity.csv');
  const similarity = existsSync(simFile) ? parseSimilarityCsv(readFileSync(simFile, 'utf8'), simFile) : [];
  return { dir, auc, cca, similarity };
}

/**
 * The paper's numbers ready for the report: records plus the Figure 6 OLS fits recomputed
 * from the published CCA and AUC rows (the paper publishes the plot, not the fits).
 * `fit` is stats' olsFit (with bootstrapCorrelation's interval as rLo / rHi), passed in so
 * this module stays free of the stats dependency.
 */
export function referenceResults(
  rec: ReferenceRecords,
  names: { a: string; b: string },
  fit: (x: number[], y: number[]) => { slope: number; intercept: number; r: number; n: number; rLo?: number; rHi?: number },
): ReferenceResults {
  const gain = joinGain(rec.cca, rec.auc, { sources: [names.a, names.b], skipMissing: true });
  const fits: FitRecord[] = [];
  for (const source of [names.a, names.b]) {
    const pts = gain.filter((g) => g.source === source);
    if (pts.length < 3) continue;
    for (const layer of LAYERS) {
      const f = fit(pts.map((g) => g.values[layer]), pts.map((g) => g.gain));
      fits.push({ source, layer, n: f.n, slope: f.slope, intercept: f.intercept, r: f.r, rLo: f.rLo ?? Number.NaN, rHi: f.rHi ?? Number.NaN });
    }
  }
  return { dir: rec.dir, a: names.a, b: names.b, auc: rec.auc, cca: rec.cca, similarity: rec.similarity, fits };
}
