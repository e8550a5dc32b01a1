/**
 * `dag data check`: read a data set download through its adapter without running anything
 * (src/data/check.ts) and print what it holds and what is wrong with it.
 *
 *   dag data check --adapter NAME --root DIR [--size N] [--<param> VALUE ...]
 *   dag data check DATASET [-f pipeline.yaml] [--<param> VALUE ...]
 *
 * The second form takes the params of the pipeline's `preprocess` instance with
 * dataset=DATASET. Exit status 0 no problem, 1 problems found, 2 usage.
 */
import { resolve } from 'node:path';
import { CommandError, defineCommand, type CommandCall } from '../src/core/command.ts';
import { closest } from '../src/core/suggest.ts';
import { ADAPTER_NAMES } from '../src/data/adapters/index.ts';
import type { SizeCheck } from '../src/data/check.ts';
import type { PreprocessParams } from '../src/data/preprocess.ts';
import type { SizeAsk } from '../src/study/size-check.ts';

/** A pass-through value: numbers and JSON arrays are parsed, the rest kept as text. */
function parseValue(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw.startsWith('[')) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

/** `--key value` / `--key=value` pairs (dashes in keys become underscores) and the positionals. */
function parseRest(rest: readonly string[], known: readonly string[]): { params: Record<string, unknown>; positional: string[] } {
  const params: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('-')) {
      positional.push(a);
      continue;
    }
    if (!a.startsWith('--')) throw new CommandError(`unknown option '${a}'; params are given as --<param> VALUE`);
    const eq = a.indexOf('=');
    const key = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replace(/-/g, '_');
    const near = closest(key, known);
    if (near !== undefined) throw new CommandError(`unknown option '--${key}'; did you mean '--${near}'?`);
    const raw = eq > 0 ? a.slice(eq + 1) : rest[++i];
    if (raw === undefined) throw new CommandError(`--${key} needs a value`);
    params[key] = parseValue(raw);
  }
  return { params, positional };
}

/**
 * Params of the pipeline's preprocess instance for DATASET, and what the pipeline asks of the
 * data set downstream of it (folds, CCA points) for the size check.
 */
async function paramsFromPipeline(call: CommandCall, dataset: string): Promise<{ params: Record<string, unknown>; ask: (size: [number, number]) => SizeAsk }> {
  const file = typeof call.options.file === 'string' ? call.options.file : 'pipeline.yaml';
  const all = await call.loadInstances(file);
  const preprocess = all.filter((i) => i.kind === 'preprocess');
  const found = preprocess.find((i) => i.axes.dataset === dataset);
  if (!found) {
    const known = preprocess.map((i) => String(i.axes.dataset ?? i.id));
    throw new CommandError(`${file}: no preprocess instance with dataset=${dataset} (found: ${known.join(', ') || 'none'})`);
  }
  const { askOf } = await import('../src/study/size-check.ts');
  const byId = new Map(all.map((i) => [i.id, i] as const));
  return { params: { ...found.params }, ask: (size) => askOf(byId, found.id, dataset, size) };
}

const check = {
  summary: 'read a download through its adapter and report images, classes, groups and problems',
  description:
    'Reads a data set download through its adapter without running anything and prints images per class, groups, ' +
    'image sizes, unreadable files (every image header is decoded) and problems. Give the adapter and folder, or the ' +
    "name of a data set of the pipeline (its preprocess instance's params are used). Any other preprocess or adapter " +
    'param can be given as --<param> VALUE (e.g. --knee_labels study-code, --subset 10000). Exit status: 0 no problem, 1 problems, 2 usage.',
  pipeline: 'file-only' as const,
  passThrough: true,
  args: [
    { name: 'DATASET', doc: "a data set of the pipeline (its preprocess instance's params are used)" },
    { name: '--<param> VALUE', doc: 'any other preprocess or adapter param' },
  ],
  options: [
    { long: 'adapter', value: 'NAME', choices: ADAPTER_NAMES, doc: 'layout reader of the download' },
    { long: 'root', value: 'DIR', doc: 'folder of the download' },
    { long: 'size', value: 'N', doc: 'output size the images will be resized to (notes upsampling)', parse: parseValue },
  ],
  examples: ['dag data check --adapter chest --root ~/data/chest_xray --size 224', 'dag data check knee -f pipeline.yaml'],
  async run(call: CommandCall): Promise<number> {
    const { options, output } = call;
    const { params: extra, positional } = parseRest(call.rest, ['adapter', 'root', 'size', 'file']);
    const given = {
      ...extra,
      ...(options.root !== undefined ? { root: resolve(String(options.root)) } : {}),
      ...(options.size !== undefined ? { size: options.size } : {}),
    };
    let params: PreprocessParams;
    let ask: ((size: [number, number]) => SizeAsk) | undefined;
    if (positional.length === 1 && options.adapter === undefined) {
      const { mergeOptions } = await import('../src/data/preprocess.ts');
      const got = await paramsFromPipeline(call, positional[0]!);
      params = mergeOptions({ ...got.params, ...given });
      ask = got.ask;
    } else if (positional.length === 0 && typeof options.adapter === 'string') {
      params = { ...given, adapter: options.adapter } as PreprocessParams;
    } else {
      throw new CommandError(
        positional.length > 1
          ? `one data set at a time (got ${positional.join(', ')})`
          : positional.length === 1
            ? 'give either a DATASET of the pipeline or --adapter, not both'
            : 'give --adapter NAME --root DIR, or the name of a data set of the pipeline',
      );
    }
    const { checkDataset } = await import('../src/data/check.ts');
    let report;
    try {
      // Big enough for what the pipeline asks of it (folds, classes per fold, CCA points)?
      let sizeCheck: SizeCheck | undefined;
      if (ask) {
        const { sizeProblems } = await import('../src/study/size-check.ts');
        const { parseSize } = await import('../src/data/preprocess.ts');
        const wanted = ask(parseSize(params.size ?? 224));
        sizeCheck = (perClass) => sizeProblems(perClass, wanted);
      }
      report = await checkDataset(params, sizeCheck);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'DATA_UNKNOWN_ADAPTER') throw new CommandError((e as Error).message);
      throw e;
    }
    for (const line of report.lines) output.out(line);
    return report.problems.length === 0 ? 0 : 1;
  },
};

export default defineCommand({
  description: 'Checks data set downloads without running anything.',
  subcommands: { check },
});
