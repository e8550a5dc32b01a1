/**
 * Resume checkpoints in a stage's workDir. Written at every epoch end so a killed run
 * continues from its last completed epoch.
 *
 * Layout of `<workDir>/ckpt/`:
 * - `state.json`  the commit point: loop position, early-stopping and best-checkpoint
 *   state, history, optimizer iteration count, and the names of the blobs below;
 * - `epoch-<E>.bin` model weights (in `model.weights` order, BatchNorm moving statistics
 *   included) followed by the optimizer's first and second moments;
 * - `best-<E>.bin` the weights of the best-validation epoch E.
 * Blobs are written under new names first (temp + fsync + rename), then `state.json` is
 * replaced atomically; blobs no longer named are deleted afterwards. A crash at any point
 * leaves the previous consistent state readable.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BestState, EarlyStoppingState } from './early-stopping.ts';
import { TrainError } from './errors.ts';
import type { HistoryRow } from './history.ts';

/** Loop position and the small state of a run (JSON). */
export interface CheckpointState {
  version: 1;
  /** Hash of everything that determines the run; a mismatch means "start afresh". */
  fingerprint: string;
  /** Index into the run's phases of the phase in progress (or just finished). */
  phase: number;
  /** Epochs completed in that phase. */
  phaseEpochs: number;
  /** Epochs completed in the whole run. */
  epochs: number;
  /** Whether the phase `phase` has ended (early stop or max epochs). */
  phaseDone: boolean;
  earlyStopping: EarlyStoppingState;
  best: BestState;
  history: HistoryRow[];
  optimizerIterations: number;
  /** Blob names inside the ckpt folder. */
  epochFile: string;
  bestFile: string | null;
  /** Number of weight arrays at the start of epochFile (the rest are Adam m then v). */
  weightCount: number;
}

/** Arrays stored with a state. */
export interface CheckpointArrays {
  weights: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
}

/** The folder holding a run's checkpoint. */
export function checkpointDir(workDir: string): string {
  return join(workDir, 'ckpt');
}

/** Write bytes durably and atomically: temp file, fsync, rename. */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Serialise float32 arrays: uint32 count, uint32 lengths, then the data (little-endian). */
function encodeBlob(arrays: readonly Float32Array[]): Uint8Array[] {
  const head = new Uint32Array(1 + arrays.length);
  head[0] = arrays.length;
  arrays.forEach((a, i) => (head[1 + i] = a.length));
  return [new Uint8Array(head.buffer), ...arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength))];
}

function decodeBlob(file: string): Float32Array[] {
  const buf = readFileSync(file);
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  const dv = new DataView(bytes.buffer);
  if (bytes.byteLength < 4) throw new TrainError('CHECKPOINT_INVALID', `${file}: truncated checkpoint blob`);
  const count = dv.getUint32(0, true);
  let off = 4 + 4 * count;
  if (off > bytes.byteLength) throw new TrainError('CHECKPOINT_INVALID', `${file}: truncated checkpoint header`);
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = dv.getUint32(4 + 4 * i, true);
    if (off + 4 * len > bytes.byteLength) throw new TrainError('CHECKPOINT_INVALID', `${file}: array ${i} is truncated`);
    out.push(new Float32Array(bytes.buffer.slice(off, off + 4 * len)));
    off += 4 * len;
  }
  return out;
}

/**
 * Commit one epoch: write the epoch blob (and the best blob when `best` is given), then
 * state.json, then delete blobs the new state no longer names.
 */
export function saveCheckpoint(
  workDir: string,
  state: Omit<CheckpointState, 'epochFile' | 'bestFile' | 'weightCount' | 'version'> & { bestFile: string | null },
  arrays: CheckpointArrays,
  best: Float32Array[] | null,
): CheckpointState {
  const dir = checkpointDir(workDir);
  mkdirSync(dir, { recursive: true });
  const epochFile = `epoch-${state.epochs}.bin`;
  writeFileAtomic(join(dir, epochFile), encodeBlob([...arrays.weights, ...arrays.m, ...arrays.v]));
  let bestFile = state.bestFile;
  if (best !== null) {
    bestFile = `best-${state.epochs}.bin`;
    writeFileAtomic(join(dir, bestFile), encodeBlob(best));
  }
  const full: CheckpointState = { ...state, version: 1, epochFile, bestFile, weightCount: arrays.weights.length };
  writeFileAtomic(join(dir, 'state.json'), [Buffer.from(JSON.stringify(full))]);
  for (const f of readdirSync(dir)) {
    if (f !== 'state.json' && f !== epochFile && f !== bestFile) rmSync(join(dir, f), { force: true });
  }
  return full;
}

/** A loaded checkpoint. */
export interface LoadedCheckpoint {
  state: CheckpointState;
  arrays: CheckpointArrays;
  best: Float32Array[] | null;
}

/**
 * Read the checkpoint of `workDir`, or null when there is none. A state.json naming
 * missing or truncated blobs is a CHECKPOINT_INVALID error (the caller decides whether to
 * start afresh).
 */
export function loadCheckpoint(workDir: string): LoadedCheckpoint | null {
  const dir = checkpointDir(workDir);
  const stateFile = join(dir, 'state.json');
  if (!existsSync(stateFile)) return null;
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as CheckpointState;
  } catch (e) {
    throw new TrainError('CHECKPOINT_INVALID', `${stateFile}: not valid JSON (${(e as Error).message})`);
  }
  if (state.version !== 1) throw new TrainError('CHECKPOINT_INVALID', `${stateFile}: unknown checkpoint version ${String(state.version)}`);
  const all = decodeBlob(join(dir, state.epochFile));
  const k = state.weightCount;
  const slots = (all.length - k) / 2;
  if (!Number.isInteger(slots) || slots < 0) {
    throw new TrainError('CHECKPOINT_INVALID', `${join(dir, state.epochFile)}: ${all.length} arrays do not split into ${k} weights + moments`);
  }
  const arrays = { weights: all.slice(0, k), m: all.slice(k, k + slots), v: all.slice(k + slots) };
  const best = state.bestFile === null ? null : decodeBlob(join(dir, state.bestFile));
  return { state, arrays, best };
}

/** Remove a run's checkpoint (after its outputs are written, or when it no longer fits). */
export function clearCheckpoint(workDir: string): void {
  rmSync(checkpointDir(workDir), { recursive: true, force: true });
}
