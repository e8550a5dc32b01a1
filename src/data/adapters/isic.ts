/**
 * `isic`: ISIC 2018 Task 3 (HAM10000): `ISIC2018_Task3_Training_Input/*.jpg` and the one-hot
 * ground truth `ISIC2018_Task3_Training_GroundTruth/*.csv` (columns image, MEL, NV, BCC,
 * AKIEC, BKL, DF, VASC). The class is the first column holding 1, as in the study.
 */
import { join } from 'node:path';
import { listDir, readCsvTable, requireDir } from '../fsutil.ts';
import { byCodePoint, dataError, makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** Folder names of the official download. */
export const ISIC_INPUT = 'ISIC2018_Task3_Training_Input';
/** Folder of the ground-truth CSV. */
export const ISIC_GROUND_TRUTH = 'ISIC2018_Task3_Training_GroundTruth';

/** The isic adapter. */
export const isicAdapter: DataAdapter = {
  name: 'isic',
  doc: 'ISIC 2018 Task 3: ISIC2018_Task3_Training_Input/*.jpg + one-hot GroundTruth CSV; 7 classes',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    const imgDir = join(root, ISIC_INPUT);
    const gtDir = join(root, ISIC_GROUND_TRUTH);
    requireDir(imgDir, `${ISIC_INPUT}/*.jpg`);
    requireDir(gtDir, `${ISIC_GROUND_TRUTH}/ISIC2018_Task3_Training_GroundTruth.csv`);
    const csvName = listDir(gtDir).files.find((f) => f.toLowerCase().endsWith('.csv'));
    if (csvName === undefined) throw dataError('DATA_MISSING_FILE', `${gtDir}: no ground-truth .csv file (expected ISIC2018_Task3_Training_GroundTruth.csv)`);
    const t = readCsvTable(join(gtDir, csvName), 'the ISIC ground-truth CSV');
    const cImage = t.column('image');
    const labelCols = t.header.map((h, i) => ({ h, i })).filter((c) => c.i !== cImage);
    if (labelCols.length < 2) throw dataError('DATA_MISSING_COLUMN', `${t.file}: expected one-hot class columns (MEL, NV, BCC, AKIEC, BKL, DF, VASC) after 'image'`);
    const byId = new Map<string, string>();
    t.rows.forEach((r, k) => {
      const hit = labelCols.find((c) => Number(r[c.i]) === 1);
      if (!hit) throw dataError('DATA_UNKNOWN_LABEL', `${t.file}: row ${k + 2} (${r[cImage]}): no class column holds 1`);
      byId.set((r[cImage] ?? '').trim(), hit.h);
    });
    const items: DataItem[] = [];
    for (const f of listDir(imgDir).files) {
      if (!f.toLowerCase().endsWith('.jpg')) continue;
      const id = f.slice(0, -4);
      const className = byId.get(id);
      if (className === undefined) throw dataError('DATA_UNKNOWN_LABEL', `${join(imgDir, f)}: image id '${id}' has no row in ${t.file}`);
      items.push({ path: join(imgDir, f), className });
    }
    return makeResult(items, { grouped: false, classes: labelCols.map((c) => c.h).sort(byCodePoint) });
  },
};
