/**
 * The checks behind `dag weights` (commands/weights.ts): vet a Keras `.h5` weights file
 * before hours of training depend on it.
 *
 * `weightsCheck` compares the file's layers and shapes with the variant's layer plan (no
 * model is built and no array is read, so a 100 MB ResNet50 file is checked in well under a
 * second) and reports matched, missing, extra and mismatched layers with both shapes;
 * `weightsList` lists the file's layers. Both return lines and a JSON form; the CLI prints.
 */
import { checkWeightsFit, inspectKerasWeights, type KerasWeightsInfo, type WeightsFit } from './keras-h5.ts';
import { comparedLayers, comparedSpatial, variantSpec } from './resnet.ts';

/** What `weightsCheck` compares against. */
export interface WeightsCheckOptions {
  /** Variant name (`resnet50`, `resnet-micro`, ...). */
  model: string;
  /** Input size to report the compared layers' spatial sizes for, or null. */
  input: number | null;
  /** Also expect a dense head with this many classes, or null. */
  classes: number | null;
  /** Layers the model does not have are allowed. */
  allowExtra: boolean;
}

/** A report: lines for people, an object for `--json`. */
export interface WeightsReport<J> {
  readonly lines: string[];
  readonly json: J;
}

const shape = (s: readonly number[] | null): string => (s === null ? 'absent' : `[${s.join(', ')}]`);

function describeFile(info: KerasWeightsInfo): string {
  const parts = [`layout ${info.layout}`, `keras ${info.kerasVersion ?? '?'}`, `${info.layers.length} layers with weights`];
  if (info.nested.length > 0) parts.push(`nested: ${info.nested.join(', ')}`);
  return `${info.file}: Keras weights (${parts.join(', ')})`;
}

function fits(fit: WeightsFit, allowExtra: boolean): boolean {
  return fit.missing.length === 0 && fit.mismatched.length === 0 && (allowExtra || fit.extra.length === 0);
}

/** Does the file fit the model? Throws a StageError for an unknown variant or unreadable file. */
export async function weightsCheck(file: string, p: WeightsCheckOptions): Promise<WeightsReport<Record<string, unknown>> & { fits: boolean }> {
  const spec = variantSpec(p.model);
  const info = await inspectKerasWeights(file);
  const fit = await checkWeightsFit(file, spec.name, p.classes === null ? {} : { classes: p.classes });
  const ok = fits(fit, p.allowExtra);
  const json = { file, model: spec.name, input: p.input, layout: info.layout, fits: ok, ...fit };
  const lines: string[] = [describeFile(info)];
  const expected = fit.matched.length + fit.missing.length + new Set(fit.mismatched.map((m) => m.layer)).size;
  lines.push(`model ${spec.name}${p.classes === null ? '' : ` + dense head (${p.classes} classes)`}: ${expected} layers with weights expected`);
  if (p.input !== null) {
    const sp = comparedSpatial([p.input, p.input]);
    const cl = comparedLayers(spec);
    lines.push(`input ${p.input}: ${Object.entries(cl).map(([col, layer]) => `${layer} ${sp[col as keyof typeof sp].join('x')}`).join(', ')} (weights do not depend on the input size)`);
  }
  lines.push(`matched     ${fit.matched.length}`);
  lines.push(`missing     ${fit.missing.length}${fit.missing.length ? `: ${fit.missing.join(', ')}` : ''}`);
  lines.push(`extra       ${fit.extra.length}${fit.extra.length ? `: ${fit.extra.join(', ')}${p.allowExtra ? ' (allowed)' : ''}` : ''}`);
  lines.push(`mismatched  ${fit.mismatched.length}`);
  for (const m of fit.mismatched) lines.push(`  ${m.layer}/${m.weight}: expected ${shape(m.expected)}, found ${shape(m.found)}`);
  lines.push(ok ? `fits ${spec.name}: yes` : `fits ${spec.name}: NO`);
  if (!ok && fit.extra.length > 0 && fit.missing.length === 0 && fit.mismatched.length === 0) {
    lines.push('hint: a fine-tuned checkpoint has a head; pass --classes N to check it too, or --allow-extra');
  }
  return { fits: ok, lines, json };
}

/** The file's layers and weight shapes. Throws a StageError for an unreadable file. */
export async function weightsList(file: string): Promise<WeightsReport<KerasWeightsInfo>> {
  const info = await inspectKerasWeights(file);
  const lines = [describeFile(info)];
  for (const l of info.layers) {
    const where = l.nestedIn ? ` (in ${l.nestedIn})` : '';
    lines.push(`${l.layer}${where}: ${l.weights.map((w) => `${w.weight} ${shape(w.shape)}`).join(', ')}`);
  }
  return { lines, json: info };
}
