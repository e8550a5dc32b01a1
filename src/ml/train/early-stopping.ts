/**
 * Keras `EarlyStopping` and `ModelCheckpoint(save_best_only=True)` decision logic as
 * plain, serialisable state machines, so they can be unit-tested on a given sequence of
 * validation values and stored in the resume checkpoint.
 *
 * Semantics copied from tf.keras 2.8 (`callbacks.py`):
 * - EarlyStopping: `wait += 1`; if the value improves on `best` (strictly, by more than
 *   `minDelta`: value + minDelta < best for 'min', value - minDelta > best for 'max') then `best = value, wait = 0`; stop when `wait >= patience` and it is not
 *   the first epoch. `mode` 'min' for losses, 'max' for accuracies (Keras 'auto' picks max
 *   for names containing "acc"). A NaN never improves.
 * - ModelCheckpoint: save when the value is strictly better than the best so far.
 */

/** Direction of improvement. */
export type MonitorMode = 'min' | 'max';

/** The monitored quantities of this loop. */
export type Monitor = 'val_loss' | 'val_acc' | 'loss' | 'acc';

/** Keras's 'auto' mode: maximise accuracies, minimise everything else. */
export function modeFor(monitor: Monitor): MonitorMode {
  switch (monitor) {
    case 'val_acc':
    case 'acc':
      return 'max';
    case 'val_loss':
    case 'loss':
      return 'min';
    default: {
      const never: never = monitor;
      throw new Error(`unknown monitor ${String(never)}`);
    }
  }
}

/** Serialisable early-stopping state (part of the resume checkpoint). */
export interface EarlyStoppingState {
  monitor: Monitor;
  mode: MonitorMode;
  patience: number;
  minDelta: number;
  /** Best value so far; null before the first epoch (Keras starts at ±inf). */
  best: number | null;
  /** Epochs since the last improvement. */
  wait: number;
  /** Epochs seen (0-based index of the next epoch). */
  epochs: number;
  stopped: boolean;
}

/** Fresh early-stopping state, as Keras's `on_train_begin`. */
export function earlyStopping(monitor: Monitor, patience: number, minDelta = 0): EarlyStoppingState {
  if (!(patience >= 0)) throw new RangeError(`patience must be >= 0, got ${patience}`);
  return { monitor, mode: modeFor(monitor), patience, minDelta: Math.abs(minDelta), best: null, wait: 0, epochs: 0, stopped: false };
}

/** Whether `value` improves on `best` in `mode` by more than `minDelta` (NaN never does). */
export function improves(value: number, best: number | null, mode: MonitorMode, minDelta = 0): boolean {
  if (Number.isNaN(value)) return false;
  if (best === null) return true;
  // Keras negates min_delta in 'min' mode: improvement means value + |d| < best.
  return mode === 'min' ? value + minDelta < best : value - minDelta > best;
}

/**
 * Feed one epoch's monitored value; returns the new state (the input is not changed).
 * `stopped` becomes true on the epoch after which training must end.
 */
export function earlyStoppingStep(s: EarlyStoppingState, value: number): EarlyStoppingState {
  const epoch = s.epochs;
  let { best, wait } = s;
  wait += 1;
  if (improves(value, best, s.mode, s.minDelta)) {
    best = value;
    wait = 0;
  }
  const stopped = wait >= s.patience && epoch > 0;
  return { ...s, best, wait, epochs: epoch + 1, stopped };
}

/**
 * Run the early-stopping rule over a whole sequence (for tests and docs): the number of
 * epochs trained before stopping (or `values.length` when it never stops).
 */
export function epochsUntilStop(values: readonly number[], monitor: Monitor, patience: number): number {
  let s = earlyStopping(monitor, patience);
  for (let i = 0; i < values.length; i++) {
    s = earlyStoppingStep(s, values[i]!);
    if (s.stopped) return i + 1;
  }
  return values.length;
}

/** Best-checkpoint tracker state (`ModelCheckpoint(save_best_only=True)`). */
export interface BestState {
  monitor: Monitor;
  mode: MonitorMode;
  /** Best value so far, null before any epoch. */
  value: number | null;
  /** 1-based run epoch of the best checkpoint, null before any. */
  epoch: number | null;
}

/** A fresh best-checkpoint tracker. */
export function bestTracker(monitor: Monitor): BestState {
  return { monitor, mode: modeFor(monitor), value: null, epoch: null };
}

/** Feed one epoch; `save` says whether this epoch's weights become the best checkpoint. */
export function bestStep(s: BestState, value: number, epoch: number): { state: BestState; save: boolean } {
  if (improves(value, s.value, s.mode)) return { state: { ...s, value, epoch }, save: true };
  return { state: s, save: false };
}
