/**
 * Writing a training run's artifacts into a stage's outDir (layout in PIPELINE.md):
 * weights.h5 (Keras layout), history.csv, predictions.npy / labels.npy / predictions.csv
 * of the held-out set and metrics.json (model.json is the stage's: it names the study
 * identity). Each file is written to a temp name
 * and renamed, so a crash never leaves a half-written artifact under its final name.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy } from '../../data/npy.ts';
import { writeFileAtomic } from './checkpoint.ts';
import type { KerasLayout } from '../keras-h5.ts';
import type { FinetuneResult } from './finetune.ts';
import { historyCsv } from './history.ts';

/** Options of {@link writeRunOutputs}. */
export interface RunOutputOptions {
  /** Class names by index (for predictions.csv columns and metrics.json); default "0", "1", ... */
  classNames?: readonly string[];
  /**
   * weights.h5 layout: 'model' (default) is what the study's ModelCheckpoint wrote
   * (`model.save` layout, `model_weights/` + config); 'weights' is `save_weights`.
   */
  layout?: KerasLayout;
  /** Extra fields merged into metrics.json (dataset, source, fold, backend, ...). */
  extraMetrics?: Record<string, unknown>;
  /** Skip weights.h5 (e.g. a dry run); default false. */
  skipWeights?: boolean;
}

/** File names written by {@link writeRunOutputs}. */
export const RUN_OUTPUT_FILES = ['weights.h5', 'history.csv', 'predictions.npy', 'labels.npy', 'predictions.csv', 'metrics.json'] as const;

/** Write every artifact of a finished run into `outDir` (created if missing). */
export async function writeRunOutputs(outDir: string, result: FinetuneResult, opts: RunOutputOptions = {}): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const { probs, shape, labels } = result.predictions;
  const classes = result.net.classes;
  const names = opts.classNames ?? Array.from({ length: classes }, (_, i) => String(i));
  if (names.length !== classes) throw new Error(`classNames has ${names.length} names for ${classes} classes`);

  if (opts.skipWeights !== true) {
    const { saveKerasWeights } = await import('../keras-h5.ts');
    // saveKerasWeights writes to a temp name and renames by itself.
    await saveKerasWeights(result.model, join(outDir, 'weights.h5'), { layout: opts.layout ?? 'model' });
  }
  writeFileAtomic(join(outDir, 'history.csv'), [Buffer.from(historyCsv(result.history))]);
  writeFileAtomic(join(outDir, 'predictions.npy'), [encodeNpy(probs, shape)]);
  writeFileAtomic(join(outDir, 'labels.npy'), [encodeNpy(labels, [labels.length])]);
  writeFileAtomic(join(outDir, 'predictions.csv'), [Buffer.from(predictionsCsv(probs, shape, labels, names))]);
  const metrics = { ...result.metrics, classNames: names, ...(opts.extraMetrics ?? {}) };
  writeFileAtomic(join(outDir, 'metrics.json'), [Buffer.from(JSON.stringify(metrics, null, 2) + '\n')]);
}

/**
 * predictions.csv: `index,label,p_<class>...`; a sigmoid head has one column, the
 * probability of class 1 (`p_<name of class 1>`), as the study's AUC uses it.
 */
export function predictionsCsv(probs: Float32Array, shape: readonly [number, number], labels: Int32Array, names: readonly string[]): string {
  const [n, units] = shape;
  const cols = units === 1 ? [`p_${names[1] ?? '1'}`] : names.map((s) => `p_${s}`);
  const lines = [['index', 'label', ...cols].map(csvField).join(',')];
  for (let i = 0; i < n; i++) {
    const row = [String(i), String(labels[i])];
    for (let k = 0; k < units; k++) row.push(String(probs[i * units + k]));
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
