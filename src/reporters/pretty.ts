/**
 * Live terminal view. A block at the bottom is redrawn in place at most 4 times a second,
 * each frame ONE write (cursor up, every line rewritten and erased to its end, the rest of
 * the screen cleared), with the cursor hidden while it lives and restored on close, on exit
 * and on Ctrl-C. The block holds the counts with the run's ETA (from the plan and measured
 * stage durations), one line per running instance (id, bar, percent, elapsed, ETA from its
 * measured rate; then its message if room is left) and the last finished instance. Queued,
 * cached and finished instances are counted, not listed; failures and warnings are printed
 * above the block. Every line fits the terminal width (ids shorten first, bar and ETA stay).
 */
import type { EngineEvent } from '../executor/events.ts';
import { formatDuration } from './format.ts';
import { InstanceRate, instanceRemaining, runRemaining, StageDurations, workOf } from './eta.ts';

interface Running {
  id: string;
  stage: string;
  start: number;
  device: string;
  historyMs: number | null;
  rate: InstanceRate;
  message: string;
  unit: string;
}

const ESC = '\x1b[';
const green = (s: string): string => `${ESC}32m${s}${ESC}0m`;
const red = (s: string): string => `${ESC}31m${s}${ESC}0m`;
const dim = (s: string): string => `${ESC}2m${s}${ESC}0m`;
const yellow = (s: string): string => `${ESC}33m${s}${ESC}0m`;
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
/** Redraw period: at most 4 frames a second. */
export const FRAME_MS = 250;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** Visible length (without colour codes). */
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** `finetune[dataset=xray,fold=1]` -> `finetune[xray,1]`: the values, which is what differs between instances. */
export function compactId(id: string): string {
  const m = /^([^[]+)\[(.*)\]$/.exec(id);
  if (!m) return id;
  return `${m[1]}[${m[2]!.split(',').map((kv) => kv.slice(kv.indexOf('=') + 1)).join(',')}]`;
}

/** Fit an id into `w` columns: the full id, else its compact form, else the compact form cut in the middle. */
export function fitId(id: string, w: number): string {
  if (id.length <= w) return id;
  const c = compactId(id);
  if (c.length <= w) return c;
  if (w < 5) return c.slice(0, Math.max(1, w));
  const head = Math.ceil((w - 1) / 2);
  return `${c.slice(0, head)}…${c.slice(c.length - (w - 1 - head))}`;
}

function bar(f: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, f)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

/** The live TTY reporter. */
export class PrettyReporter {
  private readonly stageOf = new Map<string, string>();
  private readonly finished = new Set<string>();
  /** Instances waiting in a batch system's queue: id -> job id. */
  private readonly submitted = new Map<string, string>();
  private readonly running = new Map<string, Running>();
  private readonly durations = new StageDurations();
  private counts = { done: 0, cached: 0, failed: 0, skipped: 0 };
  private parallelism = 1;
  private lastDone = '';
  private readonly pending: string[] = []; // permanent lines to print above the block in the next frame
  private readonly failures: string[] = [];
  private drawnLines = 0;
  private readonly t0 = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private dirty = true;
  private cursorHidden = false;
  private readonly restore = (): void => this.showCursor();

  constructor(private readonly out: NodeJS.WritableStream & { columns?: number; rows?: number }) {
    this.timer = setInterval(() => this.frame(), FRAME_MS);
    this.timer.unref();
    process.once('exit', this.restore);
  }

  private width(): number {
    return Math.max(40, (this.out.columns ?? 80) - 1);
  }

  private clip(s: string): string {
    const w = this.width();
    if (visibleLength(s) <= w) return s;
    const plain = s.replace(ANSI, '');
    return `${plain.slice(0, w - 1)}…`;
  }

  private showCursor(): void {
    if (this.cursorHidden) {
      this.out.write(SHOW_CURSOR);
      this.cursorHidden = false;
    }
  }

  /** Print a permanent line above the block (with the next frame). */
  private print(s: string): void {
    this.pending.push(s);
    this.dirty = true;
  }

  private runningLine(r: Running, now: number): string {
    const elapsed = formatDuration(now - r.start);
    const f = r.rate.fraction();
    const left = instanceRemaining(now, r.start, r.rate, r.historyMs);
    const eta = left !== null ? `ETA ${formatDuration(left)}` : '';
    const progress = f !== null ? `${bar(f, 10)} ${String(Math.floor(f * 100)).padStart(3)}%` : dim('starting'.padEnd(15));
    const right = `${progress} ${elapsed.padStart(6)}${eta ? `  ${eta}` : ''}`;
    const w = this.width();
    const room = w - 4 - visibleLength(right) - 1;
    const id = fitId(r.id, Math.max(8, room));
    let line = `  ▶ ${id} ${right}`;
    const msgRoom = w - visibleLength(line) - 2;
    if (r.message && msgRoom >= 12) {
      const m = r.message.length > msgRoom ? `${r.message.slice(0, msgRoom - 1)}…` : r.message;
      line += `  ${dim(m)}`;
    }
    return line;
  }

  private block(now: number): string[] {
    const lines: string[] = [];
    const c = this.counts;
    const waiting = [...this.stageOf.keys()].filter((id) => !this.finished.has(id) && !this.running.has(id));
    const run = [...this.running.values()].map((r) => ({ stage: r.stage, elapsed: now - r.start, remaining: instanceRemaining(now, r.start, r.rate, r.historyMs) }));
    const left = this.running.size + waiting.length > 0 ? runRemaining(run, waiting.map((id) => this.stageOf.get(id)!), this.durations, this.parallelism) : null;
    const parts = [
      green(`✔ ${c.done} ran`),
      dim(`↺ ${c.cached} cached`),
      `▶ ${this.running.size} running`,
      `… ${waiting.length} to go`,
      ...(c.failed ? [red(`✖ ${c.failed} failed`)] : []),
      ...(c.skipped ? [yellow(`⏭ ${c.skipped} skipped`)] : []),
      dim(formatDuration(now - this.t0)),
      ...(left !== null ? [`ETA ~${formatDuration(left)}`] : []),
    ];
    lines.push(this.clip(parts.join('  ')));
    if (this.submitted.size) {
      const jobs = [...this.submitted.values()];
      lines.push(this.clip(dim(`  ⧗ ${jobs.length} in the Slurm queue: jobs ${jobs.slice(0, 6).join(' ')}${jobs.length > 6 ? ' …' : ''}`)));
    }
    const rows = Math.max(3, (this.out.rows ?? 24) - 4);
    const shown = [...this.running.values()].slice(0, rows);
    for (const r of shown) lines.push(this.clip(this.runningLine(r, now)));
    if (this.running.size > shown.length) lines.push(dim(`  … and ${this.running.size - shown.length} more running`));
    if (this.lastDone) lines.push(this.clip(dim(`  ✔ last: ${this.lastDone}`)));
    return lines;
  }

  /** Draw one frame: a single write. */
  private frame(final = false): void {
    if (!this.dirty && this.running.size === 0 && this.pending.length === 0) return;
    const now = Date.now();
    let s = '';
    if (!this.cursorHidden && !final) {
      s += HIDE_CURSOR;
      this.cursorHidden = true;
    }
    if (this.drawnLines > 0) s += `${ESC}${this.drawnLines}F`; // to the start of the block's first line
    for (const p of this.pending.splice(0)) s += `${p}${ESC}K\n`;
    const lines = final ? [] : this.block(now);
    for (const l of lines) s += `${l}${ESC}K\n`;
    s += `${ESC}J`;
    this.out.write(s);
    this.drawnLines = lines.length;
    this.dirty = false;
  }

  /** Update state from one event. */
  handle(e: EngineEvent): void {
    switch (e.type) {
      case 'plan':
        for (const id of e.ids) this.stageOf.set(id, id.includes('[') ? id.slice(0, id.indexOf('[')) : id);
        break;
      case 'queued':
      case 'waiting':
        break;
      case 'submitted':
        this.submitted.set(e.id, e.jobId);
        break;
      case 'started':
        this.submitted.delete(e.id);
        this.stageOf.set(e.id, e.stage);
        this.durations.prior(e.stage, e.etaMs);
        this.running.set(e.id, { id: e.id, stage: e.stage, start: e.t, device: `${e.device.type === 'gpu' ? `gpu ${e.device.id}` : 'cpu'}${e.jobId ? `, job ${e.jobId}` : ''}`, historyMs: e.etaMs, rate: new InstanceRate(), message: '', unit: '' });
        this.parallelism = Math.max(this.parallelism, this.running.size);
        break;
      case 'progress': {
        const r = this.running.get(e.id);
        if (r) {
          r.rate.update(e.t, e.progress);
          const w = workOf(e.progress);
          r.unit = e.progress.unit ?? '';
          r.message = e.progress.message ?? (e.progress.overall ? '' : `${w.done}/${w.total}${r.unit ? ` ${r.unit}` : ''}`);
        }
        break;
      }
      case 'log':
        if (e.level === 'warn') this.print(yellow(`⚠ ${e.id}: ${e.message}`));
        break;
      case 'cached':
        this.submitted.delete(e.id);
        this.finished.add(e.id);
        this.counts.cached++;
        break;
      case 'done':
        this.running.delete(e.id);
        this.submitted.delete(e.id);
        this.finished.add(e.id);
        this.counts.done++;
        this.durations.finished(e.stage, e.durationMs);
        this.lastDone = `${e.id} ${formatDuration(e.durationMs)}`;
        break;
      case 'failed': {
        this.running.delete(e.id);
        this.submitted.delete(e.id);
        this.finished.add(e.id);
        this.counts.failed++;
        const line = `${e.id}: ${e.error.code}: ${e.error.message}`;
        this.failures.push(line);
        this.print(red(`✖ ${line}`));
        if (e.error.stack) this.print(dim(e.error.stack));
        break;
      }
      case 'skipped':
        this.running.delete(e.id);
        this.submitted.delete(e.id);
        this.finished.add(e.id);
        this.counts.skipped++;
        break;
      case 'summary': {
        this.running.clear();
        const c = e.counts;
        const head = e.interrupted ? yellow('interrupted') : c.failed ? red('failed') : green('done');
        this.print(`${head}: ${c.done} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped in ${formatDuration(e.durationMs)}`);
        for (const w of e.warnings) this.print(yellow(`  ⚠ ${w.id}: ${w.message}`));
        for (const f of this.failures) this.print(red(`  ✖ ${f}   (dag log '${f.slice(0, f.indexOf(': '))}')`));
        this.frame(true);
        this.showCursor();
        break;
      }
      default: {
        const never: never = e;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
    this.dirty = true;
  }

  /** Stop redrawing, remove the block if still drawn, and give the cursor back. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawnLines > 0 || this.pending.length > 0) this.frame(true);
    this.showCursor();
    process.off('exit', this.restore);
  }
}
