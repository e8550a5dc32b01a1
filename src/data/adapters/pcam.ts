/**
 * `pcam`: PatchCamelyon patches written as `<index>_label=<y>.png` into one folder (the
 * study's pcam_converter layout). The class is the digit before `.png`: 1 -> `yes`, 0 -> `no`.
 * The study's 10,000-image subset is taken by the generic `subset` param (seeded).
 */
import { join } from 'node:path';
import { listDir, requireDir } from '../fsutil.ts';
import { dataError, makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** The class of a PCam file name, or undefined when it does not end in `label=0|1.png`. */
export function pcamClass(fileName: string): 'yes' | 'no' | undefined {
  const m = /_label=([01])\.png$/i.exec(fileName);
  return m ? (m[1] === '1' ? 'yes' : 'no') : undefined;
}

/** The pcam adapter. */
export const pcamAdapter: DataAdapter = {
  name: 'pcam',
  doc: 'PatchCamelyon PNGs <index>_label=<0|1>.png in one folder; classes no/yes; use subset: 10000 for pcam-small',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    requireDir(root, 'the folder of <index>_label=<y>.png patches (png_images/)');
    const items: DataItem[] = [];
    for (const f of listDir(root).files) {
      if (!f.toLowerCase().endsWith('.png')) continue;
      const className = pcamClass(f);
      if (className === undefined) {
        throw dataError('DATA_UNKNOWN_LABEL', `${join(root, f)}: file name does not end in '_label=0.png' or '_label=1.png'`);
      }
      items.push({ path: join(root, f), className });
    }
    return makeResult(items, { grouped: false, classes: ['no', 'yes'] });
  },
};
