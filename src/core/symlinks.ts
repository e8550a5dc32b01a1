/**
 * Symbolic links inside a data folder: followed when they resolve to something inside the
 * folder, reported by name otherwise. Shared by the engine (hashing external inputs) and
 * the data module (`dag data check`, the preprocess plan-time check) so both call the same
 * link the same thing. Imports only node built-ins (ground floor).
 */
import { readlinkSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';

/** Why a symlink cannot be followed. */
export type LinkProblemKind = 'loop' | 'dangling' | 'escapes';

/** One unusable symlink, named relative to the folder being read. */
export interface LinkProblem {
  /** Path of the link relative to the root, with `/`. */
  path: string;
  problem: LinkProblemKind;
  /** What the link says (`readlink`). */
  target: string;
}

/** Whether `inner` is `outer` or below it (both absolute, already resolved). */
export function isInside(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Classify the symlink at `abs` (below `root`): null when it resolves to an existing path
 * inside `root` that is not one of the folders containing the link (which would make a
 * walk recurse forever), else the problem. `rootReal` is `realpathSync(root)`.
 */
export function classifyLink(rootReal: string, root: string, abs: string): LinkProblem | null {
  let target = '';
  try {
    target = readlinkSync(abs);
  } catch {
    /* not a link any more: let the caller's stat decide */
    return null;
  }
  const name = relative(root, abs).split(sep).join('/');
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { path: name, problem: code === 'ELOOP' ? 'loop' : 'dangling', target };
  }
  if (!isInside(rootReal, real)) return { path: name, problem: 'escapes', target };
  // A link to one of its own ancestor folders: following it would never end.
  let parentReal: string;
  try {
    parentReal = realpathSync(abs.slice(0, abs.lastIndexOf(sep)) || sep);
  } catch {
    return null;
  }
  if (isInside(real, parentReal)) return { path: name, problem: 'loop', target };
  return null;
}

/** One line per problem: `scans/a.png -> /etc/passwd (points outside the folder)`. */
export function describeLinkProblem(p: LinkProblem): string {
  const why = p.problem === 'loop' ? 'symlink loop' : p.problem === 'dangling' ? 'dangling symlink: target does not exist' : 'points outside the folder';
  return `${p.path} -> ${p.target} (${why})`;
}

/** `N unusable symlinks in ROOT: a -> b (why), ... and K more`. */
export function linkProblemsMessage(root: string, problems: readonly LinkProblem[], max = 5): string {
  const shown = problems.slice(0, max).map(describeLinkProblem).join('; ');
  const more = problems.length > max ? `; and ${problems.length - max} more` : '';
  return `${problems.length} unusable symlink${problems.length === 1 ? '' : 's'} in ${root}: ${shown}${more} (links are followed only when they resolve inside the folder)`;
}
