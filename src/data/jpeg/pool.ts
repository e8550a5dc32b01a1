/**
 * A pool of worker threads that read and decode JPEG files with the scaled decoder, so
 * `decode: fast` uses every core: the decoder is WebAssembly and runs on the thread that
 * calls it, unlike sharp, which hands work to libuv threads.
 *
 * The pool never decides that a file is unreadable: a file it cannot decode comes back as
 * its bytes plus a reason (or a read error message), and the caller's usual path (sharp,
 * DATA_BAD_IMAGE naming the file) takes over. If a worker dies, its pending and later
 * requests come back as fallbacks too, so a crash costs speed, never results.
 */
import { Worker } from 'node:worker_threads';
import type { RawImage } from '../types.ts';

/**
 * A request to a worker: decode `path` at the largest scale that keeps it >= minW x minH.
 * With `offset`, the worker also resizes (Pillow NEAREST) to exactly minW x minH and writes
 * the pixels into the pool's shared output buffer at that byte offset.
 */
export interface DecodeRequest {
  id: number;
  path: string;
  minW: number;
  minH: number;
  offset?: number;
  /** Full-size decode bit-identical to libjpeg (decodeJpegExactNearestInto); needs `offset`. */
  exact?: boolean;
}

/** A worker's reply: pixels, or the bytes and why another decoder must take them, or a read error. */
export interface DecodeReply {
  id: number;
  /** The pixels are in the shared output buffer (requests with an offset). */
  written?: boolean;
  pixels?: Uint8Array;
  width?: number;
  height?: number;
  bytes?: Uint8Array;
  reason?: string;
  readError?: string;
}

/** What the pool hands back for one file. */
export type PoolResult = { kind: 'written' } | { kind: 'image'; image: RawImage } | { kind: 'fallback'; bytes?: Uint8Array; reason: string };

interface Slot {
  worker: Worker;
  pending: Map<number, (r: PoolResult) => void>;
  dead: boolean;
}

/** A started pool; `close()` it when done (it also unrefs its threads so they never hold the process open). */
export class JpegDecodePool {
  private readonly slots: Slot[];
  private nextId = 0;

  /**
   * Start `size` worker threads. `output`, when given, is the buffer that requests with an
   * offset write their resized pixels into (shared, so nothing is copied back).
   */
  constructor(size: number, output?: SharedArrayBuffer) {
    const entry = new URL('./worker-entry.mjs', import.meta.url);
    this.slots = Array.from({ length: size }, () => {
      const worker = new Worker(entry, { execArgv: [], workerData: { output } });
      worker.unref();
      const slot: Slot = { worker, pending: new Map(), dead: false };
      worker.on('message', (m: DecodeReply) => {
        const done = slot.pending.get(m.id);
        if (!done) return;
        slot.pending.delete(m.id);
        if (m.written) done({ kind: 'written' });
        else if (m.pixels && m.width && m.height) done({ kind: 'image', image: { data: m.pixels, width: m.width, height: m.height, channels: 3 } });
        else done({ kind: 'fallback', ...(m.bytes ? { bytes: m.bytes } : {}), reason: m.readError ?? m.reason ?? 'no reason given' });
      });
      const fail = (why: string): void => {
        slot.dead = true;
        for (const done of slot.pending.values()) done({ kind: 'fallback', reason: why });
        slot.pending.clear();
      };
      worker.on('error', (e) => fail(`decode worker failed: ${e.message}`));
      worker.on('exit', (code) => fail(`decode worker exited with code ${code}`));
      return slot;
    });
  }

  /** Number of threads. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Decode one file on the least busy live worker (a fallback result when none is alive).
   * With `offset`, the resized pixels land in the shared output buffer instead. With `exact`,
   * the file is decoded at full size, bit-identical to libjpeg, then NEAREST-resized.
   */
  decode(path: string, minW: number, minH: number, offset?: number, exact = false): Promise<PoolResult> {
    let best: Slot | undefined;
    for (const s of this.slots) if (!s.dead && (!best || s.pending.size < best.pending.size)) best = s;
    if (!best) return Promise.resolve({ kind: 'fallback', reason: 'no decode worker is running' });
    const slot = best;
    const id = this.nextId++;
    return new Promise((resolve) => {
      slot.pending.set(id, resolve);
      slot.worker.postMessage({ id, path, minW, minH, ...(offset === undefined ? {} : { offset }), ...(exact ? { exact } : {}) } satisfies DecodeRequest);
    });
  }

  /** Stop every thread. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
