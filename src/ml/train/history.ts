/**
 * Per-epoch training history and its CSV form (`history.csv`:
 * epoch,phase,loss,acc,val_loss,val_acc,lr), like Keras's CSVLogger but with the
 * phase named and the epoch counted across phases. No wall-clock column: a published output
 * must be the same bytes on a re-run (the engine's early cutoff compares output digests);
 * epoch times go to the run log instead.
 */

/** Training phase: 'head' = backbone frozen (freeze strategy phase 1), 'full' = all layers. */
export type Phase = 'head' | 'full';

/** One epoch's row. */
export interface HistoryRow {
  /** 1-based epoch of the whole run (phases counted one after the other). */
  epoch: number;
  phase: Phase;
  /** Sample-weighted mean training loss over the epoch's batches (dropout/BN as trained). */
  loss: number;
  acc: number;
  val_loss: number;
  val_acc: number;
  lr: number;
}

/** The CSV header, in column order. */
export const HISTORY_COLUMNS = ['epoch', 'phase', 'loss', 'acc', 'val_loss', 'val_acc', 'lr'] as const;

/** Render rows as CSV (numbers at full double precision so they round-trip). */
export function historyCsv(rows: readonly HistoryRow[]): string {
  const lines = [HISTORY_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push([r.epoch, r.phase, r.loss, r.acc, r.val_loss, r.val_acc, r.lr].join(','));
  }
  return lines.join('\n') + '\n';
}
