/**
 * Reading the paper's published result CSVs (`AUC.csv`, `CCA_<t>.csv`, `similarity.csv`,
 * optionally `simVSauc*.csv`) from a folder, so the report can put the published numbers
 * beside ours. Missing optional files are tolerated; a missing AUC.csv is a user error.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAucCsv, parseCcaCsv, parseSimilarityCsv, type AucRecord, type CcaRecord, type SimilarityRecord } from './records.ts';

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
