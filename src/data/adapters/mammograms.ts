/**
 * `mammograms`: CBIS-DDSM. The four case-description CSVs (one row per *abnormality*) plus
 * full-field images converted to 8-bit PNG as `images/<first component of 'image file
 * path'>.png`. Duplicate rows are kept as the study keeps them (an image with three
 * abnormalities appears three times); images whose rows disagree on the label are listed in
 * a warning.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCsvTable, requireDir } from '../fsutil.ts';
import { dataError, examples, makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** The case-description CSVs, in the study's concatenation order. */
export const MAMMOGRAM_CSVS = [
  'calc_case_description_train_set.csv',
  'calc_case_description_test_set.csv',
  'mass_case_description_train_set.csv',
  'mass_case_description_test_set.csv',
] as const;

/** The mammograms adapter. */
export const mammogramsAdapter: DataAdapter = {
  name: 'mammograms',
  doc: 'CBIS-DDSM: the 4 case-description CSVs + images/<case folder>.png, duplicates kept, BENIGN_WITHOUT_CALLBACK -> BENIGN',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    requireDir(root, 'the CBIS-DDSM folder with the case-description CSVs and images/');
    requireDir(join(root, 'images'), 'images/<Calc-Training_P_00005_RIGHT_CC>.png files converted from DICOM');
    const items: DataItem[] = [];
    const missing: string[] = [];
    const rows = new Map<string, Set<string>>();
    let total = 0;
    for (const name of MAMMOGRAM_CSVS) {
      const t = readCsvTable(join(root, name), 'a CBIS-DDSM case-description CSV');
      const cPid = t.column('patient_id');
      const cPath = t.column('image file path');
      const cLabel = t.column('pathology');
      t.rows.forEach((r, k) => {
        const raw = (r[cLabel] ?? '').trim();
        const className = raw === 'BENIGN_WITHOUT_CALLBACK' ? 'BENIGN' : raw;
        if (className !== 'BENIGN' && className !== 'MALIGNANT') {
          throw dataError('DATA_UNKNOWN_LABEL', `${t.file}: row ${k + 2}: pathology '${raw}', expected BENIGN, BENIGN_WITHOUT_CALLBACK or MALIGNANT`);
        }
        const folder = (r[cPath] ?? '').trim().split('/')[0] ?? '';
        const path = join(root, 'images', `${folder}.png`);
        total++;
        if (!existsSync(path)) {
          missing.push(path);
          return;
        }
        items.push({ path, className, group: (r[cPid] ?? '').trim() });
        (rows.get(path) ?? rows.set(path, new Set()).get(path)!).add(className);
      });
    }
    const warnings: string[] = [];
    const dup = [...rows.keys()].length;
    if (dup < items.length) warnings.push(`${items.length} rows name ${dup} distinct images: duplicate rows (one per abnormality) are kept as the study keeps them`);
    const conflicts = [...rows.entries()].filter(([, s]) => s.size > 1).map(([p]) => p.slice(p.lastIndexOf('/') + 1));
    if (conflicts.length > 0) warnings.push(`${conflicts.length} image(s) carry conflicting labels (BENIGN and MALIGNANT rows), kept as the study keeps them: ${conflicts.join(', ')}`);
    if (missing.length > 0) warnings.push(`${missing.length} of ${total} rows name a missing PNG and are dropped (as Keras drops them): ${examples(missing)}`);
    return makeResult(items, { grouped: true, warnings, missing, classes: ['BENIGN', 'MALIGNANT'] });
  },
};
