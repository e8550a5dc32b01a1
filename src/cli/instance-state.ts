/**
 * An instance's state as the inspecting commands name it (status, ls, show): cached, stale
 * (with what changed), corrupted, never run, waiting or missing input.
 */
import type { StaticEvaluation } from '../executor/analyze.ts';
import { listIds } from './pipeline.ts';

/** The states `dag status` counts. */
export type StatusKind = 'cached' | 'stale' | 'never' | 'waiting' | 'missing' | 'corrupted';

/** The order of status groups. */
export const STATUS_ORDER: readonly StatusKind[] = ['cached', 'stale', 'corrupted', 'never', 'waiting', 'missing'];

/** Human names of the states. */
export const STATUS_LABEL: Readonly<Record<StatusKind, string>> = {
  cached: 'cached',
  stale: 'stale',
  corrupted: 'corrupted',
  never: 'never run',
  waiting: 'waiting',
  missing: 'missing input',
};

/** State and explanation of one evaluated instance. */
export function classify(e: StaticEvaluation): { kind: StatusKind; detail: string } {
  switch (e.state) {
    case 'cached':
      return { kind: 'cached', detail: '' };
    case 'missing-input':
      return { kind: 'missing', detail: e.message };
    case 'blocked':
      return e.previous
        ? { kind: 'stale', detail: `upstream must re-run first: ${listIds(e.on)} (may be cut off early if its outputs do not change)` }
        : { kind: 'never', detail: '' };
    case 'run':
      switch (e.reason.kind) {
        case 'never-run':
          return { kind: 'never', detail: 'never run' };
        case 'corrupted':
          return { kind: 'corrupted', detail: `output corrupted: ${e.reason.details.join(', ')}` };
        case 'changed':
        case 'forced':
          return { kind: 'stale', detail: e.reason.details.join('; ') || 'changed' };
        default: {
          const never: never = e.reason.kind;
          throw new Error(`unhandled ${String(never)}`);
        }
      }
    default: {
      const never: never = e;
      throw new Error(`unhandled ${JSON.stringify(never)}`);
    }
  }
}
