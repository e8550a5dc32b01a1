/**
 * The CCA comparisons of protocol.md section 4, written in terms of two source roles:
 * `A` plays ImageNet's part (natural images) and `B` RadImageNet's (medical images).
 * The CCA stage resolves them to concrete model names per target; the report uses the same
 * table to find the Figure 3 lines and to evaluate the paper's claims.
 */
import { RANDOM_NAME, fineTunedName } from './names.ts';

/** Which of the two pretrained sources. */
export type SourceRole = 'A' | 'B';

/** A model taking part in a CCA comparison. */
export type ModelRef =
  | { type: 'finetuned'; role: SourceRole; freeze: boolean }
  | { type: 'pretrained'; role: SourceRole }
  /** An untrained fresh initialisation; `index` 0 or 1 picks one of two independent inits. */
  | { type: 'random'; index: 0 | 1 };

/** One comparison, with the Figure 3 panel it is plotted in (null: computed, not plotted). */
export interface PairSpec {
  id: string;
  left: ModelRef;
  right: ModelRef;
  figure: '3a' | '3b' | null;
}

const ft = (role: SourceRole, freeze = false): ModelRef => ({ type: 'finetuned', role, freeze });
const pre = (role: SourceRole): ModelRef => ({ type: 'pretrained', role });
const rnd = (index: 0 | 1): ModelRef => ({ type: 'random', index });

/** All 14 comparisons, in the row order of the paper's `CCA_<t>.csv` files. */
export const ALL_PAIRS: readonly PairSpec[] = [
  { id: 'B-ft~B', left: ft('B'), right: pre('B'), figure: '3a' },
  { id: 'A-ft~A', left: ft('A'), right: pre('A'), figure: '3a' },
  { id: 'A-ft~B-ft', left: ft('A'), right: ft('B'), figure: '3b' },
  { id: 'A~B', left: pre('A'), right: pre('B'), figure: '3b' },
  { id: 'A-ft~random', left: ft('A'), right: rnd(0), figure: null },
  { id: 'B-ft~random', left: ft('B'), right: rnd(0), figure: null },
  { id: 'random~random', left: rnd(0), right: rnd(1), figure: '3b' },
  { id: 'A~random', left: pre('A'), right: rnd(0), figure: null },
  { id: 'B~random', left: pre('B'), right: rnd(0), figure: null },
  { id: 'A-ft~A-ftfrozen', left: ft('A'), right: ft('A', true), figure: null },
  { id: 'B-ft~B-ftfrozen', left: ft('B'), right: ft('B', true), figure: null },
  { id: 'A-ftfrozen~B-ftfrozen', left: ft('A', true), right: ft('B', true), figure: null },
  { id: 'A-ftfrozen~A', left: ft('A', true), right: pre('A'), figure: null },
  { id: 'B-ftfrozen~B', left: ft('B', true), right: pre('B'), figure: null },
];

/** The five comparisons plotted in Figure 3 (the CCA stage's default `pairs: figure3`). */
export const FIGURE3_PAIRS: readonly PairSpec[] = ALL_PAIRS.filter((p) => p.figure !== null);

/** Which pair set a CCA stage computes. */
export type PairSet = 'figure3' | 'all';

/** The pairs of a pair set. */
export function pairsOf(set: PairSet): readonly PairSpec[] {
  switch (set) {
    case 'figure3':
      return FIGURE3_PAIRS;
    case 'all':
      return ALL_PAIRS;
    default: {
      const never: never = set;
      throw new Error(`unknown pair set ${String(never)}`);
    }
  }
}

/** Display names of the two source roles for one target. */
export interface PairNaming {
  target: string;
  a: string;
  b: string;
}

/** The paper-style model name of a reference (`knee-ImageNet-freezeFalse`, `ImageNet`, `random`). */
export function modelRefName(ref: ModelRef, naming: PairNaming): string {
  switch (ref.type) {
    case 'finetuned':
      return fineTunedName(naming.target, ref.role === 'A' ? naming.a : naming.b, ref.freeze);
    case 'pretrained':
      return ref.role === 'A' ? naming.a : naming.b;
    case 'random':
      return RANDOM_NAME;
    default: {
      const never: never = ref;
      throw new Error(`unknown model ref ${JSON.stringify(never)}`);
    }
  }
}

/** `[model1, model2]` names of a pair for one target, as written in `CCA_<t>.csv`. */
export function pairModelNames(pair: PairSpec, naming: PairNaming): [string, string] {
  return [modelRefName(pair.left, naming), modelRefName(pair.right, naming)];
}

/** Find which pair a CSV row (model1, model2) is, for one target; undefined if it is none of the 14. */
export function identifyPair(model1: string, model2: string, naming: PairNaming): PairSpec | undefined {
  return ALL_PAIRS.find((p) => {
    const [m1, m2] = pairModelNames(p, naming);
    return m1 === model1 && m2 === model2;
  });
}

function refLabel(ref: ModelRef, naming: PairNaming): string {
  switch (ref.type) {
    case 'finetuned':
      return `${ref.role === 'A' ? naming.a : naming.b}^FT${ref.freeze ? ' (frozen)' : ''}`;
    case 'pretrained':
      return ref.role === 'A' ? naming.a : naming.b;
    case 'random':
      return 'random';
    default: {
      const never: never = ref;
      throw new Error(`unknown model ref ${JSON.stringify(never)}`);
    }
  }
}

/** Legend label of a pair as in Figure 3, e.g. `ImageNet vs ImageNet^FT`. */
export function pairLabel(pair: PairSpec, naming: Omit<PairNaming, 'target'>): string {
  const n = { ...naming, target: '' };
  // The paper writes the pretrained model first in its legends ("ImageNet - ImageNet^FT").
  const [first, second] = pair.right.type === 'pretrained' && pair.left.type === 'finetuned' ? [pair.right, pair.left] : [pair.left, pair.right];
  return `${refLabel(first, n)} vs ${refLabel(second, n)}`;
}
