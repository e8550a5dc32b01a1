/**
 * `folder`: the generic layout `<root>/<class>/**\/<image>`, one sub-folder per class (Keras
 * `flow_from_directory`). An optional `group_regex` (one capture group, applied to the file
 * name) gives patient ids so folds are grouped.
 */
import { join } from 'node:path';
import { isImageFile, listDir, requireDir, walkFiles } from '../fsutil.ts';
import { dataError, makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** Compile the optional group regex, naming the param on a syntax error. */
export function groupRegex(opts: Record<string, unknown>): RegExp | undefined {
  const src = opts.group_regex;
  if (src === undefined || src === null || src === '') return undefined;
  try {
    return new RegExp(String(src));
  } catch (e) {
    throw dataError('DATA_BAD_PARAM', `group_regex '${String(src)}' is not a valid regular expression: ${(e as Error).message}`);
  }
}

/** The group of a file name by `re` (its first capture group, else the whole match). */
export function groupOf(re: RegExp, name: string, file: string): string {
  const m = re.exec(name);
  if (!m) throw dataError('DATA_BAD_PARAM', `${file}: file name does not match group_regex ${re.source}`);
  return m[1] ?? m[0];
}

/** The folder adapter. */
export const folderAdapter: DataAdapter = {
  name: 'folder',
  doc: 'Generic: <root>/<class>/<images> (one sub-folder per class); optional group_regex on file names',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    requireDir(root, 'one sub-folder per class holding its images');
    const classes = listDir(root).dirs;
    if (classes.length === 0) throw dataError('DATA_EMPTY', `${root}: no class sub-folders (expected <root>/<class>/<image files>)`);
    const re = groupRegex(opts);
    const items: DataItem[] = [];
    for (const cls of classes) {
      for (const rel of walkFiles(join(root, cls))) {
        if (!isImageFile(rel)) continue;
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        const path = join(root, cls, rel);
        items.push(re ? { path, className: cls, group: groupOf(re, name, path) } : { path, className: cls });
      }
    }
    return makeResult(items, { grouped: re !== undefined, classes });
  },
};
