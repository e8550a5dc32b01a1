/**
 * Resource pools: CPU slots and GPU cards, built on p-limit. p-limit counts tasks, not
 * weights, so an instance needing k CPU slots takes k p-limit slots one by one; a
 * one-at-a-time gate around multi-slot acquisition means two such instances can never
 * each hold part of what the other needs (no deadlock).
 */
import pLimit, { type LimitFunction } from 'p-limit';

/** A release function: gives back what was acquired. Idempotent. */
export type Release = () => void;

async function holdSlot(limit: LimitFunction): Promise<Release> {
  return new Promise<Release>((granted) => {
    void limit(
      () =>
        new Promise<void>((released) => {
          let done = false;
          granted(() => {
            if (!done) {
              done = true;
              released();
            }
          });
        }),
    );
  });
}

/** N interchangeable CPU slots. */
export class SlotPool {
  private readonly limit: LimitFunction;
  private readonly gate = pLimit(1);
  constructor(readonly size: number) {
    this.limit = pLimit(Math.max(1, size));
  }
  /** Number of slots in use. */
  get active(): number {
    return this.limit.activeCount;
  }
  /** Take `k` slots (clamped to the pool size). */
  async acquire(k = 1): Promise<Release> {
    const n = Math.max(1, Math.min(k, this.size));
    if (n === 1) return holdSlot(this.limit);
    return this.gate(async () => {
      const held: Release[] = [];
      for (let i = 0; i < n; i++) held.push(await holdSlot(this.limit));
      return () => held.forEach((r) => r());
    });
  }
}

/**
 * A set of GPU card ids. `acquire` resolves with one specific free id; never more
 * holders than cards.
 */
export class GpuPool {
  private readonly limit: LimitFunction;
  private readonly free: string[];
  constructor(readonly ids: readonly string[]) {
    this.limit = pLimit(Math.max(1, ids.length));
    this.free = [...ids];
  }
  /** Take one card; the release returns it to the pool. */
  async acquire(): Promise<{ id: string; release: Release }> {
    if (this.ids.length === 0) throw new Error('GpuPool.acquire on an empty pool');
    const release = await holdSlot(this.limit);
    const id = this.free.shift();
    if (id === undefined) throw new Error('GpuPool: limit granted but no free card (bug)');
    let done = false;
    return {
      id,
      release: () => {
        if (done) return;
        done = true;
        this.free.push(id);
        release();
      },
    };
  }
}
