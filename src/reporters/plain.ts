/**
 * Plain-line reporter for CI logs and pipes: one line per state change, progress at
 * most every 5 s per instance, warnings as they come, failures with their message
 * (stack only for bugs), then a summary.
 */
import type { EngineEvent } from '../executor/events.ts';
import { formatReason } from '../executor/events.ts';
import { formatDevice, formatDuration, progressText } from './format.ts';
import { InstanceRate } from './eta.ts';

/** Renders events as plain lines. */
export class PlainReporter {
  private readonly lastProgress = new Map<string, number>();
  private readonly rates = new Map<string, InstanceRate>();
  private readonly failures: Array<{ id: string; line: string }> = [];
  constructor(private readonly out: NodeJS.WritableStream) {}

  private line(s: string): void {
    this.out.write(`${s}\n`);
  }

  /** Render one event. */
  handle(e: EngineEvent): void {
    switch (e.type) {
      case 'plan':
        this.line(`dag: ${e.total} instance${e.total === 1 ? '' : 's'} selected`);
        break;
      case 'queued':
        this.line(`queued   ${e.id} (${formatReason(e.reason)})`);
        break;
      case 'waiting':
        this.line(`waiting  ${e.id}: ${e.on}`);
        break;
      case 'submitted':
        this.line(`submitted ${e.id} as ${e.executor} job ${e.jobId} (log ${e.logPath})`);
        break;
      case 'started':
        this.line(`started  ${e.id} on ${formatDevice(e.device)}${e.jobId ? ` in job ${e.jobId}${e.host ? ` on ${e.host}` : ''}` : ''}`);
        break;
      case 'progress': {
        const rate = this.rates.get(e.id) ?? new InstanceRate();
        this.rates.set(e.id, rate);
        rate.update(e.t, e.progress);
        const last = this.lastProgress.get(e.id) ?? 0;
        if (e.t - last >= 5000 || e.progress.done >= e.progress.total) {
          this.lastProgress.set(e.id, e.t);
          const f = rate.fraction();
          const left = rate.remainingMs(e.t);
          const whole = e.progress.overall && f !== null ? `  [${Math.floor(f * 100)}% of the instance]` : '';
          this.line(`progress ${e.id} ${progressText(e.progress)}${whole}${left !== null ? `  ETA ${formatDuration(left)}` : ''}`);
        }
        break;
      }
      case 'log':
        if (e.level === 'warn') this.line(`warning  ${e.id}: ${e.message}`);
        break;
      case 'cached':
        this.line(`cached   ${e.id}`);
        break;
      case 'done':
        this.rates.delete(e.id);
        this.line(`done     ${e.id} in ${formatDuration(e.durationMs)} on ${formatDevice(e.device)}`);
        break;
      case 'failed': {
        const text = `${e.error.code}: ${e.error.message}`;
        this.failures.push({ id: e.id, line: text });
        this.line(`FAILED   ${e.id}: ${text}`);
        if (e.error.stack) this.line(e.error.stack.split('\n').map((l) => `         ${l}`).join('\n'));
        break;
      }
      case 'skipped':
        this.line(`skipped  ${e.id}: ${e.reason}`);
        break;
      case 'summary': {
        const c = e.counts;
        this.line(
          `${e.interrupted ? 'interrupted' : 'finished'}: ${c.done} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped in ${formatDuration(e.durationMs)}`,
        );
        for (const w of e.warnings) this.line(`  warning ${w.id}: ${w.message}`);
        for (const f of this.failures) this.line(`  failed ${f.id}: ${f.line}   (dag log '${f.id}')`);
        break;
      }
      default: {
        const never: never = e;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
  }

  /** Nothing to tidy. */
  close(): void {}
}
