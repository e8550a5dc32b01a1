/**
 * `synthetic`: a procedural data set generated in memory (no files, no `root`). Items carry
 * `synthetic:<family>/<index>` pseudo paths and a `generate` callback, so preprocess and
 * `dag data check` treat them like any other adapter's items.
 */
import { SYNTHETIC_FAMILIES, syntheticClassNames, syntheticImage, syntheticMeta, type SyntheticFamily, type SyntheticSpec } from '../synthetic.ts';
import { dataError, makeResult, type AdapterOptions, type DataAdapter, type DataItem } from '../types.ts';

/** Read the synthetic options (family, classes, count, image_size, difficulty, per_patient) from adapter options. */
export function syntheticSpec(opts: AdapterOptions): SyntheticSpec {
  const family = String(opts.family ?? 'blobs') as SyntheticFamily;
  if (!SYNTHETIC_FAMILIES.includes(family)) {
    throw dataError('DATA_BAD_PARAM', `family is '${family}', expected one of ${SYNTHETIC_FAMILIES.join(', ')}`);
  }
  const int = (key: string, dflt: number, min: number): number => {
    const v = opts[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw dataError('DATA_BAD_PARAM', `${key} is ${JSON.stringify(v)}, expected an integer >= ${min}`);
    return v;
  };
  const imageSize = opts.image_size ?? opts.size ?? 32;
  const size: [number, number] = Array.isArray(imageSize) ? [Number(imageSize[0]), Number(imageSize[1])] : [Number(imageSize), Number(imageSize)];
  if (!size.every((s) => Number.isInteger(s) && s >= 4)) throw dataError('DATA_BAD_PARAM', `image_size is ${JSON.stringify(imageSize)}, expected an integer >= 4 or [h, w]`);
  const difficulty = Number(opts.difficulty ?? 0.5);
  if (!(difficulty >= 0 && difficulty <= 1)) throw dataError('DATA_BAD_PARAM', `difficulty is ${String(opts.difficulty)}, expected a number in [0, 1]`);
  return {
    family,
    classes: int('classes', 2, 2),
    count: int('count', 200, 1),
    size,
    seed: typeof opts.synthetic_seed === 'number' ? opts.synthetic_seed : opts.seed,
    difficulty,
    perPatient: int('per_patient', 0, 0),
  };
}

/** The synthetic adapter. */
export const syntheticAdapter: DataAdapter = {
  name: 'synthetic',
  doc: 'Procedural images in memory: family blobs|radiology|natural, classes, count, image_size, difficulty, per_patient',
  needsRoot: false,
  async read(opts) {
    const spec = syntheticSpec(opts);
    const names = syntheticClassNames(spec.classes);
    const width = String(spec.count - 1).length;
    const items: DataItem[] = syntheticMeta(spec).map((m, i) => {
      const item: DataItem = {
        path: `synthetic:${spec.family}/${String(i).padStart(width, '0')}`,
        className: names[m.label]!,
        generate: () => syntheticImage(spec, i, m.trueClass),
      };
      if (m.group !== undefined) item.group = m.group;
      return item;
    });
    return makeResult(items, { grouped: (spec.perPatient ?? 0) > 0, classes: names });
  },
};
