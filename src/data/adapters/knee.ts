/**
 * `knee`: MRNet sagittal slices as prepared for RadImageNet, `images/{acl,meniscus}/<case>_
 * sagittal_<slice>.png`, with MRNet's header-less label CSVs (`train-acl.csv`, `valid-acl.csv`,
 * `train-meniscus.csv`, `valid-meniscus.csv`, `valid-abnormal.csv`) in the root. The label is
 * folder-specific: in `acl/` an image is `acl` when the case's ACL label is 1, else `normal`;
 * in `meniscus/` it is `meniscus` or `normal` by the meniscus label. Patient = case id.
 *
 * The study's code reads the validation meniscus labels from `valid-abnormal.csv` (a bug that
 * produced the paper's counts). Default here is the correct file (`knee_labels: mrnet`);
 * `knee_labels: study-code` reproduces the bug.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listDir, readCsvRows, requireDir } from '../fsutil.ts';
import { dataError, examples, makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** Which file supplies the validation meniscus labels. */
export type KneeLabelVariant = 'mrnet' | 'study-code';

/** Read an MRNet label CSV (`0000,1` per line) into case id -> 0/1. */
function readLabels(file: string): Map<string, number> {
  const out = new Map<string, number>();
  readCsvRows(file, 'an MRNet label CSV with lines "<case>,<0|1>"').forEach((r, k) => {
    const id = (r[0] ?? '').trim();
    const v = (r[1] ?? '').trim();
    if (v !== '0' && v !== '1') throw dataError('DATA_UNKNOWN_LABEL', `${file}: line ${k + 1}: label '${v}' for case '${id}', expected 0 or 1`);
    out.set(id, Number(v));
  });
  return out;
}

/** The knee adapter. */
export const kneeAdapter: DataAdapter = {
  name: 'knee',
  doc: 'MRNet sagittal slices: images/{acl,meniscus}/<case>_sagittal_*.png + MRNet label CSVs; classes acl/meniscus/normal',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    const variant = (opts.knee_labels ?? 'mrnet') as KneeLabelVariant;
    if (variant !== 'mrnet' && variant !== 'study-code') {
      throw dataError('DATA_BAD_PARAM', `knee_labels is '${String(variant)}', expected 'mrnet' or 'study-code'`);
    }
    requireDir(root, 'the knee folder with images/{acl,meniscus}/ and the MRNet label CSVs');
    const validMeniscusFile = variant === 'mrnet' ? 'valid-meniscus.csv' : 'valid-abnormal.csv';
    const acl = new Map([...readLabels(join(root, 'train-acl.csv')), ...readLabels(join(root, 'valid-acl.csv'))]);
    const meniscus = new Map([...readLabels(join(root, 'train-meniscus.csv')), ...readLabels(join(root, validMeniscusFile))]);
    const warnings: string[] = [];
    if (variant === 'study-code') {
      warnings.push(`knee_labels: study-code: validation meniscus labels read from valid-abnormal.csv, reproducing the study code's bug`);
    } else if (existsSync(join(root, 'valid-abnormal.csv'))) {
      const abnormal = readLabels(join(root, 'valid-abnormal.csv'));
      const valid = readLabels(join(root, 'valid-meniscus.csv'));
      const differ = [...valid].filter(([id, v]) => abnormal.has(id) && abnormal.get(id) !== v).length;
      if (differ > 0) warnings.push(`${differ} validation case(s) have meniscus labels that differ from valid-abnormal.csv (which the study code used); set knee_labels: study-code to reproduce the paper's counts`);
    }
    const items: DataItem[] = [];
    const unlabelled: string[] = [];
    for (const [folder, labels] of [['acl', acl], ['meniscus', meniscus]] as const) {
      const dir = join(root, 'images', folder);
      requireDir(dir, `images/${folder}/<case>_sagittal_<slice>.png`);
      for (const f of listDir(dir).files) {
        if (!f.toLowerCase().endsWith('.png')) continue;
        const pid = f.split('_')[0]!;
        const y = labels.get(pid);
        if (y === undefined) {
          unlabelled.push(`${folder}/${f}`);
          continue; // the study inner-joins images to labels
        }
        items.push({ path: join(dir, f), className: y === 1 ? folder : 'normal', group: pid });
      }
    }
    if (unlabelled.length > 0) warnings.push(`${unlabelled.length} slice(s) of cases missing from the label CSVs dropped: ${examples(unlabelled)}`);
    return makeResult(items, { grouped: true, warnings, classes: ['acl', 'meniscus', 'normal'] });
  },
};
