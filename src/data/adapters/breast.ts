/**
 * `breast`: BUSI breast ultrasound. Accepts the study's flat folder of `*.png` or the Kaggle
 * layout `Dataset_BUSI_with_GT/{benign,malignant,normal}/*.png`; `*_mask*.png` files are
 * ignored. The label is `malignant` when the path contains "malignant", else `benign`, so the
 * `normal` images become benign exactly as in the study.
 */
import { join } from 'node:path';
import { requireDir, walkFiles } from '../fsutil.ts';
import { makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** The breast adapter. */
export const breastAdapter: DataAdapter = {
  name: 'breast',
  doc: 'BUSI breast ultrasound: *.png (flat or in class folders), masks ignored, normal merged into benign',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    requireDir(root, 'the BUSI images (*.png, flat or in benign/ malignant/ normal/)');
    const items: DataItem[] = [];
    let masks = 0;
    let normals = 0;
    for (const rel of walkFiles(root)) {
      if (!rel.toLowerCase().endsWith('.png')) continue;
      const base = rel.slice(rel.lastIndexOf('/') + 1);
      if (/_mask(_\d+)?\.png$/i.test(base)) {
        masks++;
        continue;
      }
      // The study tests the whole path string; relative keeps a parent folder named
      // "malignant..." on the user's disk from flipping every label.
      const className = rel.includes('malignant') ? 'malignant' : 'benign';
      if (rel.includes('normal')) normals++;
      items.push({ path: join(root, rel), className });
    }
    const warnings: string[] = [];
    if (normals > 0) warnings.push(`${normals} 'normal' image(s) labelled benign (as the study does)`);
    if (masks > 0) warnings.push(`${masks} mask file(s) (*_mask.png) ignored`);
    return makeResult(items, { grouped: false, warnings, classes: ['benign', 'malignant'] });
  },
};
