/**
 * The adapter registry: every public layout the preprocess stage and `dag data check` read,
 * by the name used in `adapter:`.
 */
import { breastAdapter } from './breast.ts';
import { chestAdapter } from './chest.ts';
import { csvAdapter } from './csv.ts';
import { folderAdapter } from './folder.ts';
import { isicAdapter } from './isic.ts';
import { kneeAdapter } from './knee.ts';
import { mammogramsAdapter } from './mammograms.ts';
import { pcamAdapter } from './pcam.ts';
import { syntheticAdapter } from './synthetic.ts';
import { thyroidAdapter } from './thyroid.ts';
import { dataError, type DataAdapter } from '../types.ts';

/** Every adapter, by name. */
export const ADAPTERS: Readonly<Record<string, DataAdapter>> = Object.freeze({
  chest: chestAdapter,
  breast: breastAdapter,
  thyroid: thyroidAdapter,
  mammograms: mammogramsAdapter,
  knee: kneeAdapter,
  pcam: pcamAdapter,
  isic: isicAdapter,
  folder: folderAdapter,
  csv: csvAdapter,
  synthetic: syntheticAdapter,
});

/** Adapter names, for param enums and help text. */
export const ADAPTER_NAMES = Object.keys(ADAPTERS) as readonly string[];

/** The adapter called `name`; DATA_UNKNOWN_ADAPTER lists the known ones otherwise. */
export function getAdapter(name: string): DataAdapter {
  const a = ADAPTERS[name];
  if (!a) throw dataError('DATA_UNKNOWN_ADAPTER', `unknown adapter '${name}', expected one of ${ADAPTER_NAMES.join(', ')}`);
  return a;
}
