/**
 * Fold-level records -> the summaries the paper reports: Table 2 (AUC mean +- std x100 per
 * target and configuration, best marked), per-layer CCA mean +- SD per comparison (Figure 3)
 * and per-target prediction similarity (Figure 5). Pure functions; std is the sample SD
 * (ddof = 1) as pandas computes it, so our Table 2 of the paper's AUC.csv equals the paper's.
 */
import { LAYERS, RANDOM_NAME, type Layer } from './names.ts';
import { identifyPair, type PairNaming, type PairSpec } from './pairs.ts';
import type { AucRecord, CcaRecord, SimilarityKind, SimilarityRecord } from './records.ts';

/** Mean, sample standard deviation (ddof = 1; NaN for one value) and count. */
export interface Summary {
  mean: number;
  std: number;
  n: number;
}

/** Summarise values the way pandas `mean()` / `std()` do (ddof = 1). */
export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  if (n < 2) return { mean, std: Number.NaN, n };
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/** One configuration column of Table 2. */
export interface Table2Column {
  /** Source display name or `random`. */
  source: string;
  freeze: boolean;
  /** Header text, e.g. `ImageNet no-freeze`. */
  label: string;
}

/** One cell of Table 2: AUC x100 over folds; `best` marks the row's highest mean (ties all marked). */
export interface Table2Cell extends Summary {
  best: boolean;
  /** The fold AUCs (0..1) the cell summarises, in fold order. */
  folds: Array<{ fold: number; auc: number }>;
}

/** Table 2 of the paper, for whatever targets and sources the records hold. */
export interface Table2 {
  columns: Table2Column[];
  rows: Array<{ target: string; cells: Array<Table2Cell | null> }>;
}

/** Options of `buildTable2`. */
export interface Table2Options {
  /** Pretrained source display names in column order (default: order of first appearance). */
  sources?: readonly string[];
  /** Row order (default: order of first appearance). */
  targets?: readonly string[];
  /** Decimals the best-of-row comparison rounds to (default 1, as the table prints). */
  decimals?: number;
}

function uniqueInOrder<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/**
 * Aggregate `AUC.csv` records into Table 2: one row per target; columns each pretrained
 * source without and with freezing, then random init. Values are x100.
 */
export function buildTable2(records: readonly AucRecord[], opts: Table2Options = {}): Table2 {
  const sources = opts.sources ?? uniqueInOrder(records.filter((r) => r.source !== RANDOM_NAME).map((r) => r.source));
  const targets = opts.targets ?? uniqueInOrder(records.map((r) => r.target));
  const decimals = opts.decimals ?? 1;
  const columns: Table2Column[] = [];
  for (const s of sources) {
    for (const freeze of [false, true]) columns.push({ source: s, freeze, label: `${s} ${freeze ? 'freeze' : 'no-freeze'}` });
  }
  if (records.some((r) => r.source === RANDOM_NAME)) columns.push({ source: RANDOM_NAME, freeze: false, label: 'random init' });
  const rows = targets.map((target) => {
    const cells: Array<Table2Cell | null> = columns.map((c) => {
      const rs = records
        .filter((r) => r.target === target && r.source === c.source && r.freeze === c.freeze)
        .sort((a, b) => a.fold - b.fold);
      if (rs.length === 0) return null;
      const s = summarize(rs.map((r) => r.auc * 100));
      return { ...s, best: false, folds: rs.map((r) => ({ fold: r.fold, auc: r.auc })) };
    });
    const rounded = cells.map((c) => (c ? Number(c.mean.toFixed(decimals)) : Number.NEGATIVE_INFINITY));
    const top = Math.max(...rounded);
    cells.forEach((c, k) => {
      if (c && Number.isFinite(top) && rounded[k] === top) c.best = true;
    });
    return { target, cells };
  });
  return { columns, rows };
}

/**
 * Round a standard deviation the way the paper's Table 2 was produced: first to 2 decimals
 * (`AUC_mean.csv`), then half up to 1; so 0.648 prints as 0.7, not 0.6. Means are rounded
 * once. Checked on all 35 cells of the published table: only this combination matches.
 */
export function paperRound(x: number, decimals = 1): number {
  const two = Math.round(x * 100) / 100;
  const scale = 10 ** decimals;
  return Math.round(two * scale + 1e-9) / scale;
}

/** Format `mean±std` as the paper's Table 2 (`90.5±3.8`); `std` omitted when undefined. */
export function formatMeanStd(s: Summary, decimals = 1): string {
  if (!Number.isFinite(s.mean)) return 'n/a';
  const m = s.mean.toFixed(decimals);
  return Number.isFinite(s.std) ? `${m}±${paperRound(s.std, decimals).toFixed(decimals)}` : m;
}

/** Per-layer CCA summary of one comparison on one target. */
export interface CcaSummary {
  target: string;
  pair: PairSpec;
  model1: string;
  model2: string;
  layers: Record<Layer, Summary>;
  /** Fold-level values per layer (for box/strip plots and tests). */
  folds: Array<{ fold: number; values: Record<Layer, number> }>;
}

/**
 * Summarise `CCA_<t>.csv` records of one target per comparison (mean +- SD over folds).
 * Rows that are none of the 14 known comparisons are skipped (returned in `unknown`).
 */
export function summarizeCca(
  records: readonly CcaRecord[],
  naming: PairNaming,
): { summaries: CcaSummary[]; unknown: CcaRecord[] } {
  const byPair = new Map<string, { pair: PairSpec; rows: CcaRecord[] }>();
  const unknown: CcaRecord[] = [];
  for (const r of records) {
    const pair = identifyPair(r.model1, r.model2, naming);
    if (!pair) {
      unknown.push(r);
      continue;
    }
    const e = byPair.get(pair.id) ?? { pair, rows: [] };
    e.rows.push(r);
    byPair.set(pair.id, e);
  }
  const summaries = [...byPair.values()].map(({ pair, rows }) => {
    const sorted = [...rows].sort((a, b) => a.fold - b.fold);
    const layers = {} as Record<Layer, Summary>;
    for (const l of LAYERS) layers[l] = summarize(sorted.map((r) => r.values[l]));
    return {
      target: naming.target,
      pair,
      model1: sorted[0]!.model1,
      model2: sorted[0]!.model2,
      layers,
      folds: sorted.map((r) => ({ fold: r.fold, values: r.values })),
    };
  });
  return { summaries, unknown };
}

/** Mean prediction similarity of one target and freeze setting, observed and baseline. */
export interface SimilaritySummary {
  target: string;
  freeze: boolean;
  real: Summary;
  rand: Summary;
}

/** Summarise `similarity.csv` records per target and freeze setting (targets in order of appearance). */
export function summarizeSimilarity(records: readonly SimilarityRecord[]): SimilaritySummary[] {
  const out: SimilaritySummary[] = [];
  for (const target of uniqueInOrder(records.map((r) => r.target))) {
    for (const freeze of [false, true]) {
      const rs = records.filter((r) => r.target === target && r.freeze === freeze);
      if (rs.length === 0) continue;
      const pick = (k: SimilarityKind) => summarize(rs.filter((r) => r.prob === k).map((r) => r.value));
      out.push({ target, freeze, real: pick('real'), rand: pick('rand') });
    }
  }
  return out;
}
