/**
 * `thyroid`: DDTI thyroid ultrasound, a flat folder of `<case>_<k>.jpg` images and one
 * `<case>.xml` per case. The label comes from the XML's `<tirads>` element with the study's
 * string rules (TI-RADS >= 4 malignant); images are inner-joined to cases on the patient id.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listDir, requireDir, rstripChars } from '../fsutil.ts';
import { dataError, examples, makeResult, type DataAdapter, type DataItem } from '../types.ts';

/** The text of the first `<tag>` element in an XML document; '' for `<tag/>`; undefined when absent. */
export function xmlElementText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`).exec(xml);
  if (!m) return undefined;
  return (m[1] ?? '').replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1').trim();
}

/**
 * The study's thyroid class from a TI-RADS text (data_import.py:270-290): a missing or empty
 * value counts as "1.0"; then Python `int(x.rstrip("abc").rstrip(".0"))` and `>= 4` is
 * malignant. So 2, 3 -> benign and 4a, 4b, 4c, 5 -> malignant. Returns undefined for text
 * the study could not parse either (its `int()` would raise).
 */
export function thyroidClass(tirads: string | undefined): 'benign' | 'malignant' | undefined {
  const raw = tirads === undefined || tirads === '' ? '1.0' : tirads;
  const digits = rstripChars(rstripChars(raw, 'abc'), '.0');
  if (!/^\d+$/.test(digits)) return undefined;
  return Number(digits) >= 4 ? 'malignant' : 'benign';
}

/** The thyroid adapter. */
export const thyroidAdapter: DataAdapter = {
  name: 'thyroid',
  doc: 'DDTI thyroid: <case>_<k>.jpg + <case>.xml, TI-RADS >= 4 malignant (missing -> benign), patient = case',
  needsRoot: true,
  async read(opts) {
    const root = opts.root!;
    requireDir(root, 'the DDTI folder with <case>_<k>.jpg images and <case>.xml files');
    const { files } = listDir(root);
    const labels = new Map<string, { className: string; xml: string }>();
    const warnings: string[] = [];
    let missingTirads = 0;
    for (const f of files.filter((x) => x.toLowerCase().endsWith('.xml'))) {
      const file = join(root, f);
      const xml = readFileSync(file, 'utf8');
      const number = xmlElementText(xml, 'number');
      const pid = number !== undefined && /^\s*\d+(\.0*)?\s*$/.test(number) ? String(parseInt(number, 10)) : f.slice(0, -4);
      const tirads = xmlElementText(xml, 'tirads');
      if (tirads === undefined || tirads === '') missingTirads++;
      const className = thyroidClass(tirads);
      if (className === undefined) {
        throw dataError('DATA_UNKNOWN_LABEL', `${file}: <tirads> is '${tirads}', expected a TI-RADS category such as 2, 3, 4a, 4b, 4c or 5`);
      }
      const prev = labels.get(pid);
      if (prev) {
        warnings.push(`${file}: case number ${pid} also described by ${prev.xml}; the first file is used`);
        continue;
      }
      labels.set(pid, { className, xml: file });
    }
    const items: DataItem[] = [];
    const orphans: string[] = [];
    for (const f of files.filter((x) => x.toLowerCase().endsWith('.jpg'))) {
      const pid = f.split('_')[0]!;
      const label = labels.get(pid);
      if (!label) {
        orphans.push(f);
        continue;
      }
      items.push({ path: join(root, f), className: label.className, group: pid });
    }
    if (missingTirads > 0) warnings.push(`${missingTirads} case XML(s) without a TI-RADS value labelled benign (as the study does)`);
    if (orphans.length > 0) warnings.push(`${orphans.length} image(s) without a case XML dropped (the study inner-joins on the case id): ${examples(orphans)}`);
    return makeResult(items, { grouped: true, warnings, classes: ['benign', 'malignant'] });
  },
};
