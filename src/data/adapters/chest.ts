/**
 * `chest`: Kermany et al. chest X-rays, `chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg`.
 * The three published splits are merged (the study re-splits by patient); the class is the
 * folder name and the patient id comes from the file name exactly as the study derives it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { lstripChars, listDir, requireDir } from '../fsutil.ts';
import { dataError, makeResult, type DataAdapter, type DataItem } from '../types.ts';

const SPLITS = ['train', 'val', 'test'] as const;

/**
 * The study's patient id of a chest file name (RT data_import.py:102-107): Python
 * `lstrip("IMNORMAL2")` then `lstrip("-IM")` (character sets, not prefixes), `_` -> `-`, and
 * the text before the first `-`. So `IM-0761-0001.jpeg` -> `0761`, `NORMAL2-IM-0686-0001.jpeg`
 * -> `0686` (one patient with `IM-0686-...`), `person1_bacteria_1.jpeg` -> `person1`.
 */
export function chestPatientId(fileName: string): string {
  const s = lstripChars(lstripChars(fileName, 'IMNORMAL2'), '-IM').replace(/_/g, '-');
  return s.split('-')[0] ?? s;
}

/** The chest adapter. */
export const chestAdapter: DataAdapter = {
  name: 'chest',
  doc: 'Chest X-ray (Kermany): chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg, splits merged, patient id from the file name',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    requireDir(root, 'the chest_xray folder with train/, val/ and test/');
    requireDir(join(root, 'train'), 'chest_xray/train/<class>/*.jpeg');
    const classes = listDir(join(root, 'train')).dirs;
    if (classes.length === 0) throw dataError('DATA_EMPTY', `${join(root, 'train')}: no class folders (expected NORMAL/ and PNEUMONIA/)`);
    const warnings: string[] = [];
    const items: DataItem[] = [];
    const prefixes = new Map<string, Set<string>>();
    const personSplits = new Map<string, Set<string>>();
    for (const split of SPLITS) {
      const dir = join(root, split);
      if (!existsSync(dir)) {
        warnings.push(`${dir}: split folder missing; the study merges train, val and test`);
        continue;
      }
      const extra = listDir(dir).dirs.filter((d) => !classes.includes(d));
      if (extra.length > 0) warnings.push(`${dir}: class folder(s) ${extra.join(', ')} not in train/ are ignored (as the study does)`);
      for (const cls of classes) {
        const sub = join(dir, cls);
        if (!existsSync(sub)) {
          warnings.push(`${sub}: missing class folder`);
          continue;
        }
        for (const f of listDir(sub).files) {
          if (!f.toLowerCase().endsWith('.jpeg')) continue; // the study reads only .jpeg
          const pid = chestPatientId(f);
          items.push({ path: join(sub, f), className: cls, group: pid });
          const prefix = f.startsWith('NORMAL2-') ? 'NORMAL2-IM' : f.startsWith('IM-') ? 'IM' : 'person';
          (prefixes.get(pid) ?? prefixes.set(pid, new Set()).get(pid)!).add(prefix);
          if (prefix === 'person') (personSplits.get(pid) ?? personSplits.set(pid, new Set()).get(pid)!).add(split);
        }
      }
    }
    const mixed = [...prefixes.values()].filter((s) => s.has('IM') && s.has('NORMAL2-IM')).length;
    if (mixed > 0) warnings.push(`${mixed} patient id(s) merge IM-xxxx and NORMAL2-IM-xxxx files into one group (as the study does)`);
    const crossSplit = [...personSplits.values()].filter((s) => s.size > 1).length;
    if (crossSplit > 0) warnings.push(`${crossSplit} personN id(s) occur in more than one published split and are merged into one group (as the study does)`);
    return makeResult(items, { grouped: true, warnings, classes });
  },
};
