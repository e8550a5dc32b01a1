/**
 * The study's records and their CSV layouts, column for column those of the paper
 * repository's `results/` folder (`AUC.csv`, `CCA_<t>.csv`, `similarity.csv`,
 * `simVSauc*.csv`), so a reader can diff our tables against the published ones with pandas.
 * Everything here is pure: records in, text out, and back.
 */
import { CsvError, formatCsv, parseCsvObjects } from '../data/csv-text.ts';
import { LAYERS, foldLabel, freezeLabel, parseFoldLabel, parseFreezeLabel, type Layer } from './names.ts';

/** One fold's AUC of one configuration (a row of `AUC.csv`); `auc` in 0..1. */
export interface AucRecord {
  target: string;
  /** Source display name (`ImageNet`) or `random`. */
  source: string;
  freeze: boolean;
  fold: number;
  auc: number;
}

/** Per-layer values of the five compared layers. */
export type LayerValues = Record<Layer, number>;

/** One CCA comparison on one fold (a row of `CCA_<t>.csv`): mean canonical correlation per layer. */
export interface CcaRecord {
  model1: string;
  model2: string;
  fold: number;
  /** The data set whose held-out images were the stimuli (the target). */
  stimuli: string;
  values: LayerValues;
}

/** Observed agreement (`real`) or the independent-errors baseline (`rand`). */
export type SimilarityKind = 'real' | 'rand';

/** One prediction-similarity value (a row of `similarity.csv`). */
export interface SimilarityRecord {
  target: string;
  model1: string;
  model2: string;
  freeze: boolean;
  fold: number;
  prob: SimilarityKind;
  value: number;
}

/**
 * One point of Figure 6: the CCA between a pretrained source and its no-freeze fine-tuned
 * model (the `simVSauc*.csv` row) with the relative AUC gain over random init on that fold.
 */
export interface GainRecord extends CcaRecord {
  target: string;
  /** Source display name. */
  source: string;
  auc: number;
  aucRandom: number;
  /** (auc - aucRandom) / aucRandom, a fraction as in the paper. */
  gain: number;
}

/** An OLS fit of gain on CCA for one source and layer (Figure 6 line). */
export interface FitRecord {
  source: string;
  layer: Layer;
  n: number;
  slope: number;
  intercept: number;
  /** Pearson correlation of the points (NaN when undefined). */
  r: number;
  /** Bootstrap percentile interval of r (95 %; NaN when not computed). */
  rLo: number;
  rHi: number;
}

/** One grid point of a Figure 6 regression band (bootstrap percentile interval). */
export interface BandRecord {
  source: string;
  layer: Layer;
  x: number;
  fit: number;
  lo: number;
  hi: number;
}

/** Header of `AUC.csv`. */
export const AUC_HEADER = ['target', 'source', 'freeze', 'fold', 'AUC'] as const;
/** Header of `CCA_<t>.csv` and `simVSauc*.csv`. */
export const CCA_HEADER = ['model1', 'model2', 'fold', 'stimuli', ...LAYERS] as const;
/** Header of `similarity.csv`. */
export const SIMILARITY_HEADER = ['target', 'model1', 'model2', 'freeze', 'fold', 'prob', 'value'] as const;
/** Header of our `gain.csv`: the simVSauc layout plus the AUCs the gain was computed from. */
export const GAIN_HEADER = [...CCA_HEADER, 'target', 'source', 'AUC', 'AUC_random', 'AUC_diff'] as const;
/** Header of our `fits.csv`. */
export const FIT_HEADER = ['source', 'layer', 'n', 'slope', 'intercept', 'r', 'r_lo', 'r_hi'] as const;
/** Header of our `bands.csv`. */
export const BAND_HEADER = ['source', 'layer', 'x', 'fit', 'lo', 'hi'] as const;

function num(text: string | undefined, source: string, row: number, col: string): number {
  const v = Number(text);
  if (text === undefined || text.trim() === '' || Number.isNaN(v)) {
    if (text !== undefined && /^nan$/i.test(text.trim())) return Number.NaN;
    throw new CsvError(`${source}: row ${row}, column ${col}: expected a number, found ${JSON.stringify(text)}`);
  }
  return v;
}

function fold(text: string | undefined, source: string, row: number): number {
  const f = parseFoldLabel(text ?? '');
  if (f === undefined) throw new CsvError(`${source}: row ${row}, column fold: expected fold<k>, found ${JSON.stringify(text)}`);
  return f;
}

function freeze(text: string | undefined, source: string, row: number): boolean {
  const f = parseFreezeLabel(text ?? '');
  if (f === undefined) {
    throw new CsvError(`${source}: row ${row}, column freeze: expected freezeTrue or freezeFalse, found ${JSON.stringify(text)}`);
  }
  return f;
}

function layerValues(r: Record<string, string>, source: string, row: number): LayerValues {
  const out = {} as LayerValues;
  for (const l of LAYERS) out[l] = num(r[l], source, row, l);
  return out;
}

/** `AUC.csv` text of records, in the given order. */
export function formatAucCsv(records: readonly AucRecord[]): string {
  return formatCsv(
    AUC_HEADER,
    records.map((r) => [r.target, r.source, freezeLabel(r.freeze), foldLabel(r.fold), r.auc]),
  );
}

/** Parse `AUC.csv` (ours or the paper's). */
export function parseAucCsv(text: string, source = 'AUC.csv'): AucRecord[] {
  return parseCsvObjects(text, AUC_HEADER, source).map((r, k) => ({
    target: r.target!,
    source: r.source!,
    freeze: freeze(r.freeze, source, k + 2),
    fold: fold(r.fold, source, k + 2),
    auc: num(r.AUC, source, k + 2, 'AUC'),
  }));
}

/** `CCA_<t>.csv` (or `simVSauc*.csv`) text of records. */
export function formatCcaCsv(records: readonly CcaRecord[]): string {
  return formatCsv(
    CCA_HEADER,
    records.map((r) => [r.model1, r.model2, foldLabel(r.fold), r.stimuli, ...LAYERS.map((l) => r.values[l])]),
  );
}

/** Parse `CCA_<t>.csv` or `simVSauc*.csv`. */
export function parseCcaCsv(text: string, source = 'CCA.csv'): CcaRecord[] {
  return parseCsvObjects(text, CCA_HEADER, source).map((r, k) => ({
    model1: r.model1!,
    model2: r.model2!,
    fold: fold(r.fold, source, k + 2),
    stimuli: r.stimuli!,
    values: layerValues(r, source, k + 2),
  }));
}

/** `similarity.csv` text of records. */
export function formatSimilarityCsv(records: readonly SimilarityRecord[]): string {
  return formatCsv(
    SIMILARITY_HEADER,
    records.map((r) => [r.target, r.model1, r.model2, freezeLabel(r.freeze), foldLabel(r.fold), r.prob, r.value]),
  );
}

/** Parse `similarity.csv`. */
export function parseSimilarityCsv(text: string, source = 'similarity.csv'): SimilarityRecord[] {
  return parseCsvObjects(text, SIMILARITY_HEADER, source).map((r, k) => {
    const prob = r.prob;
    if (prob !== 'real' && prob !== 'rand') {
      throw new CsvError(`${source}: row ${k + 2}, column prob: expected real or rand, found ${JSON.stringify(prob)}`);
    }
    return {
      target: r.target!,
      model1: r.model1!,
      model2: r.model2!,
      freeze: freeze(r.freeze, source, k + 2),
      fold: fold(r.fold, source, k + 2),
      prob,
      value: num(r.value, source, k + 2, 'value'),
    };
  });
}

/** Our `gain.csv` text: simVSauc columns plus target, source, AUC, AUC_random, AUC_diff. */
export function formatGainCsv(records: readonly GainRecord[]): string {
  return formatCsv(
    GAIN_HEADER,
    records.map((r) => [
      r.model1,
      r.model2,
      foldLabel(r.fold),
      r.stimuli,
      ...LAYERS.map((l) => r.values[l]),
      r.target,
      r.source,
      r.auc,
      r.aucRandom,
      r.gain,
    ]),
  );
}

/** Parse our `gain.csv`. */
export function parseGainCsv(text: string, source = 'gain.csv'): GainRecord[] {
  return parseCsvObjects(text, GAIN_HEADER, source).map((r, k) => ({
    model1: r.model1!,
    model2: r.model2!,
    fold: fold(r.fold, source, k + 2),
    stimuli: r.stimuli!,
    values: layerValues(r, source, k + 2),
    target: r.target!,
    source: r.source!,
    auc: num(r.AUC, source, k + 2, 'AUC'),
    aucRandom: num(r.AUC_random, source, k + 2, 'AUC_random'),
    gain: num(r.AUC_diff, source, k + 2, 'AUC_diff'),
  }));
}

function layer(text: string | undefined, source: string, row: number): Layer {
  const l = LAYERS.find((x) => x === text);
  if (!l) throw new CsvError(`${source}: row ${row}, column layer: expected one of ${LAYERS.join(', ')}, found ${JSON.stringify(text)}`);
  return l;
}

/** Our `fits.csv` text. */
export function formatFitCsv(records: readonly FitRecord[]): string {
  return formatCsv(FIT_HEADER, records.map((r) => [r.source, r.layer, r.n, r.slope, r.intercept, r.r, r.rLo, r.rHi]));
}

/** Parse our `fits.csv`. */
export function parseFitCsv(text: string, source = 'fits.csv'): FitRecord[] {
  return parseCsvObjects(text, FIT_HEADER, source).map((r, k) => ({
    source: r.source!,
    layer: layer(r.layer, source, k + 2),
    n: num(r.n, source, k + 2, 'n'),
    slope: num(r.slope, source, k + 2, 'slope'),
    intercept: num(r.intercept, source, k + 2, 'intercept'),
    r: num(r.r, source, k + 2, 'r'),
    rLo: num(r.r_lo, source, k + 2, 'r_lo'),
    rHi: num(r.r_hi, source, k + 2, 'r_hi'),
  }));
}

/** Our `bands.csv` text. */
export function formatBandCsv(records: readonly BandRecord[]): string {
  return formatCsv(BAND_HEADER, records.map((r) => [r.source, r.layer, r.x, r.fit, r.lo, r.hi]));
}

/** Parse our `bands.csv`. */
export function parseBandCsv(text: string, source = 'bands.csv'): BandRecord[] {
  return parseCsvObjects(text, BAND_HEADER, source).map((r, k) => ({
    source: r.source!,
    layer: layer(r.layer, source, k + 2),
    x: num(r.x, source, k + 2, 'x'),
    fit: num(r.fit, source, k + 2, 'fit'),
    lo: num(r.lo, source, k + 2, 'lo'),
    hi: num(r.hi, source, k + 2, 'hi'),
  }));
}
