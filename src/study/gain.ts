/**
 * Figure 6's points: for every target, fold and source, the CCA between the pretrained
 * source and its no-freeze fine-tuned model, paired with the relative AUC gain of that
 * fine-tuned model over the random-init model of the same fold, as `simVSauc_plot.py` merges
 * them: gain = (AUC_FT - AUC_random) / AUC_random.
 */
import { RANDOM_NAME, fineTunedName } from './names.ts';
import type { AucRecord, CcaRecord, GainRecord } from './records.ts';

/** A required AUC is missing for a CCA row; names the row so the user can find the gap. */
export class GainJoinError extends Error {
  override readonly name = 'GainJoinError';
  readonly code = 'GAIN_MISSING_AUC';
}

/** Options of `joinGain`. */
export interface JoinGainOptions {
  /** Source display names whose pretrained-vs-fine-tuned rows are used (e.g. ImageNet, RadImageNet). */
  sources: readonly string[];
  /** Skip rows lacking an AUC instead of failing (default false). */
  skipMissing?: boolean;
}

/**
 * Join CCA rows `<t>-<S>-freezeFalse` vs `<S>` with `AUC.csv` rows into gain records.
 * CCA rows of other comparisons are ignored.
 */
export function joinGain(cca: readonly CcaRecord[], auc: readonly AucRecord[], opts: JoinGainOptions): GainRecord[] {
  const aucOf = new Map<string, number>();
  for (const r of auc) aucOf.set(`${r.target}\u0000${r.source}\u0000${r.freeze}\u0000${r.fold}`, r.auc);
  const out: GainRecord[] = [];
  for (const source of opts.sources) {
    for (const row of cca) {
      const target = row.stimuli;
      if (row.model2 !== source || row.model1 !== fineTunedName(target, source, false)) continue;
      const ft = aucOf.get(`${target}\u0000${source}\u0000false\u0000${row.fold}`);
      const rnd = aucOf.get(`${target}\u0000${RANDOM_NAME}\u0000false\u0000${row.fold}`);
      if (ft === undefined || rnd === undefined) {
        if (opts.skipMissing) continue;
        throw new GainJoinError(
          `no ${ft === undefined ? `${source} freezeFalse` : 'random'} AUC for target ${target} fold ${row.fold} (needed by CCA row ${row.model1} vs ${row.model2})`,
        );
      }
      out.push({ ...row, target, source, auc: ft, aucRandom: rnd, gain: (ft - rnd) / rnd });
    }
  }
  return out;
}
