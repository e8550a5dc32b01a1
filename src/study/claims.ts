/**
 * The paper's claims, evaluated on the numbers of a run: each claim is a comparison that
 * either holds or fails per target (or per source and layer), and the report states
 * "holds for k/n targets" instead of repeating the paper's prose. The same functions run
 * on the paper's own CSVs, so the report can show both counts side by side.
 */
import type { Summary, CcaSummary, SimilaritySummary, Table2 } from './aggregate.ts';
import { LAYERS, RANDOM_NAME, type Layer } from './names.ts';
import type { FitRecord } from './records.ts';

/** `holds`: every unit; `partly`: some; `fails`: none; `n/a`: the run lacks the numbers. */
export type Verdict = 'holds' | 'partly' | 'fails' | 'n/a';

/** One evaluated claim. */
export interface ClaimResult {
  id: string;
  /** The claim as a comparison, with the run's display names, e.g. `ImageNet–ImageNet^FT > …`. */
  statement: string;
  /** What one unit is (`targets`, `source × layer panels`). */
  unit: string;
  holds: number;
  of: number;
  verdict: Verdict;
  /** One line per unit: `knee: holds (conv1 .86 > .67, …)`. */
  details: string[];
  /**
   * What the paper's own result CSVs give for the same claim, e.g. `6/7`; computed once with
   * this module from the published `results/` files (the report recomputes it when given them).
   */
  paper: string;
}

/** The numbers the claims are evaluated on. */
export interface ClaimEvidence {
  /** Display names of the natural (A) and medical (B) sources. */
  a: string;
  b: string;
  table2?: Table2;
  /** CCA summaries of every target (any subset of the 14 comparisons). */
  cca?: readonly CcaSummary[];
  similarity?: readonly SimilaritySummary[];
  fits?: readonly FitRecord[];
}

function verdictOf(holds: number, of: number): Verdict {
  if (of === 0) return 'n/a';
  if (holds === of) return 'holds';
  return holds === 0 ? 'fails' : 'partly';
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3).replace(/^0\./, '.').replace(/^-0\./, '-.') : 'n/a');

function byTarget(cca: readonly CcaSummary[]): Map<string, Map<string, CcaSummary>> {
  const m = new Map<string, Map<string, CcaSummary>>();
  for (const s of cca) {
    const t = m.get(s.target) ?? new Map<string, CcaSummary>();
    t.set(s.pair.id, s);
    m.set(s.target, t);
  }
  return m;
}

/**
 * A claim of the form "pair P is above (or below) pair Q in every layer of a range", per target.
 * Targets lacking either pair are left out of the count.
 */
function layerwiseClaim(
  ev: ClaimEvidence,
  spec: { id: string; statement: string; left: string; right: string; relation: '>' | '<'; layers: readonly Layer[]; paper: string },
): ClaimResult {
  const details: string[] = [];
  let holds = 0;
  let of = 0;
  for (const [target, pairs] of byTarget(ev.cca ?? [])) {
    const l = pairs.get(spec.left);
    const r = pairs.get(spec.right);
    if (!l || !r) continue;
    of++;
    const failing: string[] = [];
    const parts = spec.layers.map((layer) => {
      const x = l.layers[layer].mean;
      const y = r.layers[layer].mean;
      const ok = spec.relation === '>' ? x > y : x < y;
      if (!ok) failing.push(layer);
      return `${layer} ${f3(x)} ${ok ? spec.relation : spec.relation === '>' ? '≤' : '≥'} ${f3(y)}`;
    });
    if (failing.length === 0) holds++;
    details.push(`${target}: ${failing.length === 0 ? 'holds' : `fails in ${failing.join(', ')}`} (${parts.join('; ')})`);
  }
  return { id: spec.id, statement: spec.statement, unit: 'targets', holds, of, verdict: verdictOf(holds, of), details, paper: spec.paper };
}

function range(from: Layer, to: Layer): Layer[] {
  return LAYERS.slice(LAYERS.indexOf(from), LAYERS.indexOf(to) + 1);
}

function layerRangeText(layers: readonly Layer[]): string {
  return layers.length === 1 ? layers[0]! : `${layers[0]}–${layers[layers.length - 1]}`;
}

/** Evaluate every claim the numbers allow; claims without evidence come back as `n/a`. */
export function evaluateClaims(ev: ClaimEvidence): ClaimResult[] {
  const { a, b } = ev;
  const out: ClaimResult[] = [];
  const early = range('conv1', 'block3');
  out.push(
    layerwiseClaim(ev, {
      id: 'pretrained-ft-similarity',
      statement: `${a}–${a}^FT > ${b}–${b}^FT in ${layerRangeText(early)} (the ${a} model changes less in fine-tuning)`,
      left: 'A-ft~A',
      right: 'B-ft~B',
      relation: '>',
      layers: early,
      paper: '6/7 (mammograms fails at conv1)',
    }),
  );
  out.push(
    layerwiseClaim(ev, {
      id: 'block4-reversal',
      statement: `${b}–${b}^FT > ${a}–${a}^FT at block4 (the order reverses in the last block)`,
      left: 'B-ft~B',
      right: 'A-ft~A',
      relation: '>',
      layers: ['block4'],
      paper: '5/7',
    }),
  );
  const deep = range('block2', 'block4');
  out.push(
    layerwiseClaim(ev, {
      id: 'ft-diverge',
      statement: `${a}^FT–${b}^FT < ${a}–${b} in ${layerRangeText(deep)} (fine-tuned models are even more dissimilar than before)`,
      left: 'A-ft~B-ft',
      right: 'A~B',
      relation: '<',
      layers: deep,
      paper: '6/7 (pcam-small fails at block2)',
    }),
  );
  const blocks = range('block1', 'block4');
  out.push(
    layerwiseClaim(ev, {
      id: 'ft-below-random',
      statement: `${a}^FT–${b}^FT < random–random in ${layerRangeText(blocks)}`,
      left: 'A-ft~B-ft',
      right: 'random~random',
      relation: '<',
      layers: blocks,
      paper: '5/7 (knee and pcam-small fail at block1)',
    }),
  );
  out.push(similarityClaim(ev));
  out.push(slopeClaim(ev));
  out.push(...table2Claims(ev));
  return out;
}

function similarityClaim(ev: ClaimEvidence): ClaimResult {
  const details: string[] = [];
  let holds = 0;
  let of = 0;
  for (const s of ev.similarity ?? []) {
    if (s.freeze || s.real.n === 0 || s.rand.n === 0) continue;
    of++;
    const ok = s.real.mean > s.rand.mean;
    if (ok) holds++;
    details.push(`${s.target}: ${ok ? 'holds' : 'fails'} (observed ${f3(s.real.mean)} vs independent ${f3(s.rand.mean)})`);
  }
  return {
    id: 'predictions-agree',
    statement: `observed prediction similarity of ${ev.a}^FT and ${ev.b}^FT > the independent-errors baseline (no-freeze, mean over folds)`,
    unit: 'targets',
    holds,
    of,
    verdict: verdictOf(holds, of),
    details,
    paper: '7/7',
  };
}

function slopeClaim(ev: ClaimEvidence): ClaimResult {
  const details: string[] = [];
  let holds = 0;
  let of = 0;
  for (const f of ev.fits ?? []) {
    if (!Number.isFinite(f.slope)) continue;
    of++;
    const ok = f.slope < 0;
    if (ok) holds++;
    details.push(`${f.source} ${f.layer}: slope ${f.slope.toFixed(3)}, r ${Number.isFinite(f.r) ? f.r.toFixed(3) : 'n/a'} (n=${f.n})`);
  }
  return {
    id: 'gain-vs-similarity',
    statement: 'the relative AUC gain over random init falls as pretrained–fine-tuned CCA rises (negative OLS slope)',
    unit: 'source × layer panels',
    holds,
    of,
    verdict: verdictOf(holds, of),
    details,
    paper: '10/10',
  };
}

function bestOf(cells: Array<{ col: { source: string }; s: Summary | null }>, source: string): number {
  const means = cells.filter((c) => c.col.source === source && c.s && Number.isFinite(c.s.mean)).map((c) => c.s!.mean);
  return means.length ? Math.max(...means) : Number.NaN;
}

function table2Claims(ev: ClaimEvidence): ClaimResult[] {
  const t = ev.table2;
  const pre: string[] = [];
  const cmp: string[] = [];
  let preHolds = 0;
  let preOf = 0;
  let cmpHolds = 0;
  let cmpOf = 0;
  for (const row of t?.rows ?? []) {
    const cells = row.cells.map((s, k) => ({ col: t!.columns[k]!, s }));
    const bestA = bestOf(cells, ev.a);
    const bestB = bestOf(cells, ev.b);
    const rnd = bestOf(cells, RANDOM_NAME);
    const bestPre = Math.max(...[bestA, bestB].filter(Number.isFinite));
    if (Number.isFinite(bestPre) && Number.isFinite(rnd)) {
      preOf++;
      const ok = bestPre > rnd;
      if (ok) preHolds++;
      pre.push(`${row.target}: ${ok ? 'holds' : 'fails'} (best pretrained ${bestPre.toFixed(1)} vs random ${rnd.toFixed(1)})`);
    }
    if (Number.isFinite(bestA) && Number.isFinite(bestB)) {
      cmpOf++;
      const ok = bestA >= bestB;
      if (ok) cmpHolds++;
      cmp.push(`${row.target}: ${ok ? 'holds' : 'fails'} (${ev.a} ${bestA.toFixed(1)} vs ${ev.b} ${bestB.toFixed(1)})`);
    }
  }
  return [
    {
      id: 'transfer-helps',
      statement: 'the best pretrained configuration beats random init (Table 2, mean AUC)',
      unit: 'targets',
      holds: preHolds,
      of: preOf,
      verdict: verdictOf(preHolds, preOf),
      details: pre,
      paper: '7/7',
    },
    {
      id: 'natural-competitive',
      statement: `${ev.a} (best of freeze / no-freeze) ≥ ${ev.b} (best) in mean AUC (Table 2)`,
      unit: 'targets',
      holds: cmpHolds,
      of: cmpOf,
      verdict: verdictOf(cmpHolds, cmpOf),
      details: cmp,
      paper: '6/7 (chest: 98.7 vs 98.8)',
    },
  ];
}

/** One line per claim: `IN–IN^FT > … : holds for 2/2 targets`. */
export function claimLine(c: ClaimResult): string {
  if (c.verdict === 'n/a') return `${c.statement}: not evaluated (this run lacks the numbers)`;
  return `${c.statement}: ${c.verdict} for ${c.holds}/${c.of} ${c.unit}`;
}
