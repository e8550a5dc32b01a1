/**
 * Typed training failures. `TrainError` extends the stage contract's `StageError`, so a
 * stage adapter can let it propagate and the executor shows `code` and the message without
 * a stack trace.
 */
import { StageError } from '../../core/contract.ts';

/** Stable codes of problems a user can cause or fix. */
export type TrainErrorCode =
  /** A label is not one of the head's class indices 0..classes-1. */
  | 'LABEL_OUT_OF_RANGE'
  /** Image array shape or size does not match the declared shape / model input. */
  | 'BAD_INPUT_SHAPE'
  /** A split has no images. */
  | 'EMPTY_SPLIT'
  /** The loss became NaN or infinite (message names phase, epoch and batch). */
  | 'NAN_LOSS'
  /** Initial weights do not fit the architecture (names the layer / shapes). */
  | 'WEIGHTS_MISMATCH'
  /** The run was cancelled through its AbortSignal; the last epoch checkpoint is kept. */
  | 'ABORTED'
  /** A resume checkpoint is unreadable or does not fit the model. */
  | 'CHECKPOINT_INVALID'
  /** A parameter is out of its valid range. */
  | 'BAD_PARAM';

/** A failure of a training run that the user can cause or fix. */
export class TrainError extends StageError {
  constructor(
    override readonly code: TrainErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}
