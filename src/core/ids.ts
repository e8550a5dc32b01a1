/**
 * Instance ids: `stage[axis=value,...]`, axes in matrix declaration order. Ids are the
 * user-visible names of instances (targets, logs, `dag status`), so their format is part of
 * the interface and must never depend on other instances (adding a dataset keeps old ids).
 */
import type { AxisValue } from './contract.ts';

/** Characters an axis value may not contain, because they delimit ids. */
export const AXIS_VALUE_FORBIDDEN = /[\s,=[\]]/;

/** The text of an axis value inside an id (`knee`, `3`, `false`). */
export function formatAxisValue(v: AxisValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** `stage[a=1,b=x]` for the given axes in the given order, or `stage` when there are none. */
export function instanceId(stage: string, axes: Readonly<Record<string, AxisValue>>, order: readonly string[]): string {
  if (order.length === 0) return stage;
  const parts: string[] = [];
  for (const a of order) {
    const v = axes[a];
    if (v === undefined) throw new Error(`bug: axis ${a} missing when formatting an id of ${stage}`);
    parts.push(`${a}=${formatAxisValue(v)}`);
  }
  return `${stage}[${parts.join(',')}]`;
}

/** A parsed selector `stage` or `stage[axis=value,...]` (possibly naming only some axes). */
export interface InstanceSelector {
  stage: string;
  /** Axis -> value text; empty for a bare stage name. */
  axes: Map<string, string>;
}

/** Parse `stage[a=1,b=x]` / `stage`; undefined when the text is not of that shape. */
export function parseInstanceSelector(text: string): InstanceSelector | undefined {
  const m = /^([^[\]]+?)(?:\[(.*)\])?$/.exec(text.trim());
  if (m === null || m[1] === undefined) return undefined;
  const axes = new Map<string, string>();
  if (m[2] !== undefined && m[2] !== '') {
    for (const part of m[2].split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) return undefined;
      axes.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }
  return { stage: m[1], axes };
}
