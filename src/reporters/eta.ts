/**
 * Time estimates the reporters can stand behind:
 *
 * - an instance's remaining time from the measured rate of its own progress (work units per
 *   second since its first progress report, so start-up does not count as work), applied to
 *   the work that remains (`progress.overall` when the stage reports its whole run, e.g.
 *   epochs x batches with evaluation); before a rate exists, from earlier runs' durations;
 * - the whole run's remaining time from the plan: every unfinished instance costs the mean
 *   measured duration of its stage (finished instances of this run, else earlier runs),
 *   spread over the parallelism seen so far.
 *
 * Nothing to estimate from gives null (shown as no ETA), never a made-up 0.
 */
import type { Progress } from '../core/contract.ts';

/** Work done and total of a progress report (the whole run's when the stage gives it). */
export function workOf(p: Progress): { done: number; total: number } {
  return p.overall ?? { done: p.done, total: p.total };
}

/** Rate of one running instance's progress. */
export class InstanceRate {
  private first: { t: number; done: number } | undefined;
  private last: { t: number; done: number; total: number } | undefined;

  /** Record a progress report at time `t` (ms). A restart (done or total going down) resets the rate. */
  update(t: number, p: Progress): void {
    const { done, total } = workOf(p);
    if (this.last && (done < this.last.done || total < this.last.done)) this.first = undefined;
    if (!this.first && done > 0) this.first = { t, done };
    this.last = { t, done, total };
  }

  /** Fraction done (0..1), or null before any report. */
  fraction(): number | null {
    if (!this.last || this.last.total <= 0) return null;
    return Math.min(1, Math.max(0, this.last.done / this.last.total));
  }

  /**
   * Remaining ms at `now` from the measured rate, or null: no rate yet (less than a second
   * or no unit of work measured), or the work is complete (the instance is finishing up).
   */
  remainingMs(now: number): number | null {
    const a = this.first;
    const b = this.last;
    if (!a || !b || b.t - a.t < 1000 || b.done <= a.done || b.done >= b.total) return null;
    const rate = (b.done - a.done) / (b.t - a.t);
    const left = (b.total - b.done) / rate - (now - b.t);
    return left > 0 ? left : null;
  }
}

/** One instance's remaining time: measured rate first, then earlier runs' duration; null when neither says anything. */
export function instanceRemaining(now: number, start: number, rate: InstanceRate, historyMs: number | null): number | null {
  const r = rate.remainingMs(now);
  if (r !== null) return r;
  if (historyMs !== null && rate.fraction() === null) {
    const left = historyMs - (now - start);
    return left > 0 ? left : null;
  }
  return null;
}

/** Mean durations per stage: this run's finished instances, else earlier runs' (from `started` events). */
export class StageDurations {
  private readonly measured = new Map<string, number[]>();
  private readonly history = new Map<string, number>();

  /** A finished instance of this run. */
  finished(stage: string, ms: number): void {
    this.measured.set(stage, [...(this.measured.get(stage) ?? []), ms]);
  }

  /** An earlier runs' estimate given when an instance started. */
  prior(stage: string, ms: number | null): void {
    if (ms !== null && !this.history.has(stage)) this.history.set(stage, ms);
  }

  /** Mean duration of the stage, or null when nothing was measured. */
  mean(stage: string): number | null {
    const xs = this.measured.get(stage);
    if (xs?.length) return xs.reduce((a, b) => a + b, 0) / xs.length;
    return this.history.get(stage) ?? null;
  }
}

/**
 * Remaining time of the run: the running instances' remaining times plus a stage mean per
 * instance not started yet, divided by the parallelism seen; at least the longest running
 * instance's remaining time. Null when some unfinished instance's stage has no measurement.
 */
export function runRemaining(
  running: ReadonlyArray<{ stage: string; remaining: number | null; elapsed: number }>,
  waiting: readonly string[],
  durations: StageDurations,
  parallelism: number,
): number | null {
  let total = 0;
  let longest = 0;
  for (const r of running) {
    let left = r.remaining;
    if (left === null) {
      const m = durations.mean(r.stage);
      if (m === null) return null;
      left = Math.max(0, m - r.elapsed);
    }
    total += left;
    longest = Math.max(longest, left);
  }
  for (const stage of waiting) {
    const m = durations.mean(stage);
    if (m === null) return null;
    total += m;
  }
  const est = Math.max(longest, total / Math.max(1, parallelism));
  return est > 0 ? est : null;
}
