/**
 * Names in the paper repository's style, shared by every CSV and figure of the study:
 * the five compared layers, `freezeFalse` / `fold3` labels, and model names such as
 * `knee-ImageNet-freezeFalse`. One module so the stages and the report cannot drift apart.
 */

/** The five compared layers, in plotting order (CSV columns of `CCA_<t>.csv`). */
export const LAYERS = ['conv1', 'block1', 'block2', 'block3', 'block4'] as const;

/** One of the five compared layers. */
export type Layer = (typeof LAYERS)[number];

/** The display name of the random-init baseline in every table (`AUC.csv`, `CCA_<t>.csv`). */
export const RANDOM_NAME = 'random';

/** `freezeTrue` / `freezeFalse`, as in the paper's CSVs. */
export function freezeLabel(freeze: boolean): string {
  return freeze ? 'freezeTrue' : 'freezeFalse';
}

/** The human label of a freeze setting in tables: `no freeze` / `freeze` (the CSVs keep `freezeFalse`). */
export function freezeText(freeze: boolean): string {
  return freeze ? 'freeze' : 'no freeze';
}

/** Parse `freezeTrue` / `freezeFalse` (also `true`/`false`); undefined when it is neither. */
export function parseFreezeLabel(text: string): boolean | undefined {
  const t = text.trim();
  if (t === 'freezeTrue' || t === 'true' || t === 'True') return true;
  if (t === 'freezeFalse' || t === 'false' || t === 'False') return false;
  return undefined;
}

/** `fold3`, as in the paper's CSVs. */
export function foldLabel(fold: number): string {
  return `fold${fold}`;
}

/** Parse `fold3` (or `3`); undefined when it is not a positive integer fold. */
export function parseFoldLabel(text: string): number | undefined {
  const m = /^(?:fold)?(\d+)$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** Name of a fine-tuned model: `<target>-<Source>-freeze<Bool>`, e.g. `knee-ImageNet-freezeFalse`. */
export function fineTunedName(target: string, sourceDisplay: string, freeze: boolean): string {
  return `${target}-${sourceDisplay}-${freezeLabel(freeze)}`;
}

/**
 * Display name of a source axis value: the configured name (e.g. `imagenet` -> `ImageNet`)
 * or the value itself. Why configurable: the default pipeline's sources are synthetic
 * stand-ins, and calling them "ImageNet" would mislead a reader of the report.
 */
export function displayName(source: string, names: Readonly<Record<string, string>>): string {
  return names[source] ?? source;
}

/** Short file-name stem of the paper's `simVSauc<stem>.csv` for a source display name. */
export function simVsAucStem(sourceDisplay: string): string {
  if (sourceDisplay === 'ImageNet') return 'ImNet';
  if (sourceDisplay === 'RadImageNet') return 'RadNet';
  return sourceDisplay.replace(/[^A-Za-z0-9_-]/g, '');
}
