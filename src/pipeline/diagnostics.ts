/**
 * The collector every loader phase reports into. It deduplicates identical problems (the same
 * literal param error would otherwise repeat for every matrix instance) and, for problems that
 * depend on the instance, keeps the first instance id and a count for the message.
 */
import type { ConfigError, ConfigErrorCode, ConfigNote } from './errors.ts';
import type { SourceLocation } from '../core/plan.ts';

interface Entry {
  error: ConfigError;
  instances: string[];
  instanceCount: number;
}

/** Accumulates errors and warnings in report order, deduplicated by code, location and message. */
export class Diagnostics {
  private readonly entries = new Map<string, Entry>();

  /** Record an error. */
  error(code: ConfigErrorCode, message: string, loc?: SourceLocation, notes?: ConfigNote[]): void {
    this.add({ code, message, loc, severity: 'error', notes }, undefined);
  }

  /** Record a warning (does not stop loading). */
  warn(code: ConfigErrorCode, message: string, loc?: SourceLocation, notes?: ConfigNote[]): void {
    this.add({ code, message, loc, severity: 'warning', notes }, undefined);
  }

  /**
   * Record a problem that arose while resolving one instance; identical problems of other
   * instances are folded into one message "(instance X and N more)".
   */
  forInstance(severity: 'error' | 'warning', code: ConfigErrorCode, message: string, loc: SourceLocation | undefined, instance: string): void {
    this.add({ code, message, loc, severity }, instance);
  }

  private add(e: ConfigError, instance: string | undefined): void {
    const l = e.loc;
    const key = `${e.severity}|${e.code}|${l ? `${l.file}:${l.line}:${l.col}` : ''}|${e.message}`;
    const existing = this.entries.get(key);
    if (existing !== undefined) {
      if (instance !== undefined) existing.instanceCount++;
      return;
    }
    this.entries.set(key, { error: e, instances: instance === undefined ? [] : [instance], instanceCount: instance === undefined ? 0 : 1 });
  }

  /** True when at least one error (not warning) was recorded. */
  get hasErrors(): boolean {
    for (const e of this.entries.values()) if (e.error.severity === 'error') return true;
    return false;
  }

  private finish(severity: 'error' | 'warning'): ConfigError[] {
    const out: ConfigError[] = [];
    for (const { error, instances, instanceCount } of this.entries.values()) {
      if (error.severity !== severity) continue;
      const first = instances[0];
      if (first === undefined) {
        out.push(error);
      } else {
        const more = instanceCount - 1;
        const suffix = more > 0 ? ` (instance ${first} and ${more} more)` : ` (instance ${first})`;
        out.push({ ...error, message: error.message + suffix });
      }
    }
    return out;
  }

  /** All errors, in the order they were found. */
  get errors(): ConfigError[] {
    return this.finish('error');
  }

  /** All warnings, in the order they were found. */
  get warnings(): ConfigError[] {
    return this.finish('warning');
  }
}
