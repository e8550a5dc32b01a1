/**
 * The two source roles of the study as stage params: which source axis value plays
 * ImageNet's part (`natural`) and which RadImageNet's (`medical`), and their display names.
 * Shared by the cca, predsim, correlate-gain and report stages so one pipeline setting
 * names models identically in every table.
 */
import type { ParamSpec } from '../core/contract.ts';
import { StageError } from '../core/contract.ts';
import { displayName } from './names.ts';
import type { SourceRole } from './pairs.ts';

/** Params every study-level stage takes to name the two sources. */
export interface RoleParams {
  natural: string;
  medical: string;
  names: Record<string, string>;
}

/** ParamSpecs of RoleParams, with the paper's values as defaults. */
export const ROLE_PARAM_SPECS: Readonly<Record<keyof RoleParams, ParamSpec>> = {
  natural: { type: 'string', doc: "Source axis value that plays ImageNet's role (natural images)", default: 'imagenet' },
  medical: { type: 'string', doc: "Source axis value that plays RadImageNet's role (medical images)", default: 'radimagenet' },
  names: {
    type: 'object',
    doc: 'Display names of sources in tables and figures (source axis value -> name, e.g. imagenet: ImageNet)',
    additional: true,
    default: { imagenet: 'ImageNet', radimagenet: 'RadImageNet' },
  },
};

/** Resolved roles: display names of A and B and a lookup from source axis value to role. */
export interface Roles {
  a: string;
  b: string;
  roleOf(source: string | null | undefined): SourceRole | undefined;
  display(source: string): string;
}

/** Resolve role params; a StageError when both roles name the same source. */
export function resolveRoles(p: RoleParams): Roles {
  if (p.natural === p.medical) {
    throw new StageError('STUDY_ROLES', `natural and medical must be different sources, both are '${p.natural}'`);
  }
  const names = p.names ?? {};
  const a = displayName(p.natural, names);
  const b = displayName(p.medical, names);
  if (a === b) throw new StageError('STUDY_ROLES', `sources '${p.natural}' and '${p.medical}' have the same display name '${a}'`);
  return {
    a,
    b,
    roleOf: (s) => (s === p.natural ? 'A' : s === p.medical ? 'B' : undefined),
    display: (s) => displayName(s, names),
  };
}
