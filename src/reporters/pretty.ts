/**
 * Live terminal view: finished and failed instances scroll above a block that is
 * redrawn in place (at most 10 times a second) with the counts and one line per running
 * instance: bar, done/total unit, message, elapsed and ETA (from the progress fraction,
 * or from earlier runs' durations of the same instance / stage). Cached instances only
 * count: a warm run of 1,000 instances prints a handful of lines, not 1,000.
 */
import type { Progress } from '../core/contract.ts';
import type { EngineEvent } from '../executor/events.ts';
import { formatReason } from '../executor/events.ts';
import { estimateRemaining, formatDevice, formatDuration, progressBar, progressText } from './format.ts';

interface Running {
  id: string;
  start: number;
  device: string;
  etaMs: number | null;
  progress?: Progress;
}

const green = (s: string): string => `\x1b[32m${s}\x1b[0m`;
const red = (s: string): string => `\x1b[31m${s}\x1b[0m`;
const dim = (s: string): string => `\x1b[2m${s}\x1b[0m`;
const yellow = (s: string): string => `\x1b[33m${s}\x1b[0m`;

/** The live TTY reporter. */
export class PrettyReporter {
  private total = 0;
  private done = 0;
  private cached = 0;
  private failed = 0;
  private skipped = 0;
  private readonly queued = new Set<string>();
  /** Instances waiting in a batch system's queue: id -> job id. */
  private readonly submitted = new Map<string, string>();
  private readonly running = new Map<string, Running>();
  private drawnLines = 0;
  private readonly t0 = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly failures: string[] = [];

  constructor(private readonly out: NodeJS.WritableStream & { columns?: number }) {
    this.timer = setInterval(() => this.redraw(), 100);
    this.timer.unref();
  }

  private width(): number {
    return Math.max(40, (this.out.columns ?? 100) - 1);
  }

  /** Fit a line to the terminal (measured without colour codes; an over-long line loses its colours). */
  private clip(s: string): string {
    const w = this.width();
    // eslint-disable-next-line no-control-regex
    const visible = s.replace(/\x1b\[[0-9;]*m/g, '');
    return visible.length > w ? `${visible.slice(0, w - 1)}…` : s;
  }

  /** Print a permanent line above the live block. */
  private print(s: string): void {
    this.clear();
    this.out.write(`${s}\n`);
    this.dirty = true;
  }

  private clear(): void {
    if (this.drawnLines > 0) {
      this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
      this.drawnLines = 0;
    }
  }

  private redraw(): void {
    if (!this.dirty && this.running.size === 0) return;
    this.clear();
    const now = Date.now();
    const lines: string[] = [];
    const pending = this.total - this.done - this.cached - this.failed - this.skipped - this.running.size - this.queued.size;
    lines.push(this.clip(
      `${green(`✔ ${this.done} done`)}  ${dim(`↺ ${this.cached} cached`)}  ▶ ${this.running.size} running  … ${this.queued.size} queued${pending > 0 ? dim(` (${pending} waiting on upstream)`) : ''}  ${
        this.failed ? red(`✖ ${this.failed} failed`) : `✖ 0 failed`
      }${this.skipped ? `  ${yellow(`⏭ ${this.skipped} skipped`)}` : ''}  ${dim(formatDuration(now - this.t0))}`,
    ));
    if (this.submitted.size) {
      const jobs = [...this.submitted.values()];
      lines.push(this.clip(dim(`  ⧗ ${jobs.length} in the Slurm queue: jobs ${jobs.slice(0, 6).join(' ')}${jobs.length > 6 ? ' …' : ''}`)));
    }
    for (const r of this.running.values()) {
      const elapsed = now - r.start;
      const eta = estimateRemaining(elapsed, r.progress, r.etaMs);
      const prog = r.progress ? `${progressBar(r.progress, 16)} ${progressText(r.progress)}` : dim('starting');
      lines.push(this.clip(`  ▶ ${r.id} ${dim(`[${r.device}]`)} ${prog}  ${formatDuration(elapsed)}${eta !== null ? `  ETA ${formatDuration(eta)}` : ''}`));
    }
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
    this.dirty = false;
  }

  /** Update state from one event. */
  handle(e: EngineEvent): void {
    switch (e.type) {
      case 'plan':
        this.total = e.total;
        break;
      case 'queued':
        this.queued.add(e.id);
        this.print(dim(`  queued ${e.id}: ${formatReason(e.reason)}`));
        break;
      case 'waiting':
        this.print(dim(`  waiting ${e.id}: ${e.on}`));
        break;
      case 'submitted':
        this.submitted.set(e.id, e.jobId);
        break;
      case 'started':
        this.queued.delete(e.id);
        this.submitted.delete(e.id);
        this.running.set(e.id, { id: e.id, start: e.t, device: `${formatDevice(e.device)}${e.jobId ? `, job ${e.jobId}` : ''}`, etaMs: e.etaMs });
        break;
      case 'progress': {
        const r = this.running.get(e.id);
        if (r) r.progress = e.progress;
        break;
      }
      case 'log':
        if (e.level === 'warn') this.print(yellow(`  ⚠ ${e.id}: ${e.message}`));
        break;
      case 'cached':
        this.submitted.delete(e.id);
        this.queued.delete(e.id);
        this.cached++;
        break;
      case 'done':
        this.running.delete(e.id);
        this.submitted.delete(e.id);
        this.done++;
        this.print(`${green('✔')} ${e.id} ${dim(`${formatDuration(e.durationMs)} on ${formatDevice(e.device)}`)}`);
        break;
      case 'failed': {
        this.running.delete(e.id);
        this.queued.delete(e.id);
        this.submitted.delete(e.id);
        this.failed++;
        const line = `${e.id}: ${e.error.code}: ${e.error.message}`;
        this.failures.push(line);
        this.print(red(`✖ ${line}`));
        if (e.error.stack) this.print(dim(e.error.stack));
        break;
      }
      case 'skipped':
        this.running.delete(e.id);
        this.queued.delete(e.id);
        this.submitted.delete(e.id);
        this.skipped++;
        break;
      case 'summary': {
        this.running.clear();
        this.redraw();
        this.clear();
        const c = e.counts;
        const head = e.interrupted ? yellow('interrupted') : c.failed ? red('failed') : green('done');
        this.out.write(
          `${head}: ${c.done} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped in ${formatDuration(e.durationMs)}\n`,
        );
        for (const w of e.warnings) this.out.write(yellow(`  ⚠ ${w.id}: ${w.message}\n`));
        for (const f of this.failures) this.out.write(red(`  ✖ ${f}\n`));
        break;
      }
      default: {
        const never: never = e;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
    this.dirty = true;
  }

  /** Stop the redraw timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
