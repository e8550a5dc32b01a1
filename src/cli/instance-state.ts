/**
 * An instance's state as the inspecting commands name it (status, ls, show, graph --svg):
 * cached, stale (with what changed), failed, corrupted, never run, waiting or missing input.
 */
import type { StaticEvaluation } from '../executor/analyze.ts';
import type { LocalCache } from '../cache/store.ts';
import { listIds } from './pipeline.ts';

/** The states `dag status` counts. */
export type StatusKind = 'cached' | 'stale' | 'failed' | 'never' | 'waiting' | 'missing' | 'corrupted';

/** The order of status groups. */
export const STATUS_ORDER: readonly StatusKind[] = ['cached', 'stale', 'failed', 'corrupted', 'never', 'waiting', 'missing'];

/** Human names of the states. */
export const STATUS_LABEL: Readonly<Record<StatusKind, string>> = {
  cached: 'cached',
  stale: 'stale',
  failed: 'failed',
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

/**
 * Like `classify`, but an instance whose last attempt at its current key failed is
 * `failed` (with the error), not "never run" / stale.
 */
export function classifyWithFailure(cache: LocalCache, id: string, e: StaticEvaluation): { kind: StatusKind; detail: string } {
  const c = classify(e);
  if (e.state !== 'run' || (c.kind !== 'never' && c.kind !== 'stale')) return c;
  const f = cache.readFailure(id);
  if (!f || f.key !== e.key) return c;
  return { kind: 'failed', detail: `${f.error.code}: ${f.error.message} (${f.endedAt}; dag log '${id}')` };
}
