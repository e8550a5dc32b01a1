/**
 * Reporters turn engine events into output: `pretty` (a live view on a TTY), `plain`
 * (one line per event, for CI logs and pipes) and `json` (NDJSON, one event per line).
 */
import type { EngineEvent } from '../executor/events.ts';
import { JsonReporter } from './json.ts';
import { PlainReporter } from './plain.ts';
import { PrettyReporter } from './pretty.ts';

/** Something that renders engine events. */
export interface Reporter {
  handle(e: EngineEvent): void;
  /** Stop timers and leave the terminal tidy. */
  close(): void;
}

/** The reporter names accepted by `--reporter`. */
export type ReporterName = 'pretty' | 'plain' | 'json';

/** Is this a reporter name? */
export function isReporterName(s: string): s is ReporterName {
  return s === 'pretty' || s === 'plain' || s === 'json';
}

/** Create a reporter writing to `out` (`pretty` falls back to `plain` when `out` is not a TTY). */
export function createReporter(name: ReporterName, out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): Reporter {
  switch (name) {
    case 'json':
      return new JsonReporter(out);
    case 'plain':
      return new PlainReporter(out);
    case 'pretty':
      return out.isTTY ? new PrettyReporter(out) : new PlainReporter(out);
    default: {
      const never: never = name;
      throw new Error(`unknown reporter ${String(never)}`);
    }
  }
}
