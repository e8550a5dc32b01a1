/**
 * `dag data check`: read a download through its adapter without running anything and print
 * images per class, groups, image sizes, unreadable files (every image header is decoded
 * with sharp metadata) and problems, so a user can check a download before a long run.
 *
 *   dag data check --adapter NAME --root DIR [--size N] [--<option> VALUE ...]
 *   dag data check DATASET [-f pipeline.yaml]
 *
 * The second form finds the `preprocess` instance whose axes have dataset=DATASET and uses
 * its resolved params. Exit status 0 when no problem was found, 1 on problems, 2 on usage.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ADAPTER_NAMES, getAdapter } from './adapters/index.ts';
import { probeImageFile } from './decode.ts';
import { displayPath, mergeOptions, parseSize, readDataset, type PreprocessParams } from './preprocess.ts';
import { askOf, sizeProblems, type SizeAsk } from '../study/size-check.ts';
import { countItems, examples } from './types.ts';

/** Where the command writes (injectable for tests). */
export interface CheckIo {
  out(line: string): void;
  err(line: string): void;
}

const defaultIo: CheckIo = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
};

const USAGE = `usage: dag data check --adapter NAME --root DIR [--size N] [--<param> VALUE ...]
       dag data check DATASET [-f pipeline.yaml]
adapters: ${ADAPTER_NAMES.join(', ')}
Any preprocess param can be given as --<param> VALUE (e.g. --knee_labels study-code, --subset 10000).`;

/** Parse `--key value` pairs; numbers and JSON arrays are parsed, the rest kept as strings. */
function parseOptions(args: string[]): { opts: Record<string, unknown>; positional: string[] } | string {
  const opts: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-f') {
      const v = args[++i];
      if (v === undefined) return '-f needs a pipeline file';
      opts.file = v;
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replace(/-/g, '_');
      const raw = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (raw === undefined) return `--${key} needs a value`;
      opts[key] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw.startsWith('[') ? safeJson(raw) : raw;
    } else positional.push(a);
  }
  return { opts, positional };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** The preprocess instance for `dataset` in a pipeline file (params, and the plan around it), or an error text. */
async function paramsFromPipeline(dataset: string, file: string): Promise<{ params: PreprocessParams; ask: (size: [number, number]) => SizeAsk } | string> {
  const { loadPipeline } = await import('../pipeline/load.ts');
  const { formatConfigErrors } = await import('../pipeline/errors.ts');
  const res = await loadPipeline(resolve(file));
  if (!res.ok) return formatConfigErrors(res.errors);
  const found = [...res.plan.instances.values()].filter((i) => i.kind === 'preprocess' && i.axes.dataset === dataset);
  if (found.length === 0) {
    const known = [...res.plan.instances.values()].filter((i) => i.kind === 'preprocess').map((i) => String(i.axes.dataset ?? i.id));
    return `${file}: no preprocess instance with dataset=${dataset} (found: ${known.join(', ') || 'none'})`;
  }
  const inst = found[0]!;
  return { params: inst.params as unknown as PreprocessParams, ask: (size) => askOf(res.plan.instances, inst.id, dataset, size) };
}

/** Entry point of `dag data ...` (argv after `data`, e.g. ['check', '--adapter', 'chest', ...]); resolves to the exit status. */
export async function main(argv: string[], io: CheckIo = defaultIo): Promise<number> {
  const args = [...argv];
  if (args[0] === 'data') args.shift();
  if (args[0] !== 'check' || args.includes('--help') || args.includes('-h')) {
    io.err(USAGE);
    return args[0] === 'check' ? 0 : 2;
  }
  args.shift();
  const parsed = parseOptions(args);
  if (typeof parsed === 'string') {
    io.err(`dag data check: ${parsed}\n${USAGE}`);
    return 2;
  }
  const { opts, positional } = parsed;
  let params: PreprocessParams;
  let ask: ((size: [number, number]) => SizeAsk) | undefined;
  if (positional.length === 1 && opts.adapter === undefined) {
    const got = await paramsFromPipeline(positional[0]!, String(opts.file ?? 'pipeline.yaml'));
    if (typeof got === 'string') {
      io.err(got);
      return 2;
    }
    params = mergeOptions({ ...got.params, ...(({ file: _f, ...rest }) => rest)(opts) });
    ask = got.ask;
  } else if (positional.length === 0 && typeof opts.adapter === 'string') {
    params = { ...opts, adapter: opts.adapter } as PreprocessParams;
    if (typeof params.root === 'string') params.root = resolve(params.root);
  } else {
    io.err(USAGE);
    return 2;
  }
  return check(params, io, ask);
}

async function check(params: PreprocessParams, io: CheckIo, ask?: (size: [number, number]) => SizeAsk): Promise<number> {
  const problems: string[] = [];
  try {
    getAdapter(params.adapter);
  } catch (e) {
    io.err((e as Error).message);
    return 2;
  }
  io.out(`adapter ${params.adapter}${params.root ? `, root ${params.root}` : ''}`);
  let data;
  try {
    data = await readDataset(params);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    io.out(`problem: ${code ? `[${String(code)}] ` : ''}${(e as Error).message}`);
    io.out('1 problem');
    return 1;
  }
  const { perClass, groups, perGroupMax } = countItems(data);
  io.out(`images: ${data.items.length} in ${data.classes.length} classes`);
  const width = Math.max(...data.classes.map((c) => c.length));
  data.classes.forEach((c, i) => io.out(`  ${String(i).padStart(2)} ${c.padEnd(width)} ${String(perClass[c]).padStart(7)}`));
  io.out(groups === null ? 'groups: none (stratified folds)' : `groups: ${groups} (largest ${perGroupMax} images; grouped folds)`);
  for (const w of data.warnings) io.out(`warning: ${w}`);
  // Big enough for what the pipeline asks of it (folds, classes per fold, CCA points)?
  if (ask) {
    for (const s of sizeProblems(perClass, ask(parseSize(params.size ?? 224)))) {
      if (s.fatal) problems.push(s.message);
      else io.out(`warning: ${s.message}`);
    }
  }
  if (data.missing.length > 0) problems.push(`${data.missing.length} listed file(s) missing: ${examples(data.missing)}`);

  // Decode every header, a few at a time.
  const files = [...new Set(data.items.filter((it) => !it.generate).map((it) => it.path))];
  const bad: string[] = [];
  const formats = new Map<string, number>();
  let minW = Infinity;
  let minH = Infinity;
  let maxW = 0;
  let maxH = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      try {
        const m = await probeImageFile(files[i]!);
        formats.set(m.format, (formats.get(m.format) ?? 0) + 1);
        minW = Math.min(minW, m.width);
        minH = Math.min(minH, m.height);
        maxW = Math.max(maxW, m.width);
        maxH = Math.max(maxH, m.height);
      } catch (e) {
        bad.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(8, availableParallelism() * 2)) }, worker));
  if (files.length > 0) {
    io.out(`files: ${files.length} (${[...formats].map(([f, n]) => `${f} ${n}`).join(', ') || 'none readable'})`);
    if (maxW > 0) io.out(`image sizes: ${minW}..${maxW} x ${minH}..${maxH} (w x h)`);
  }
  if (typeof params.size === 'number' && maxW > 0 && (minW < params.size || minH < params.size)) {
    io.out(`note: some images are smaller than --size ${params.size} and will be upsampled`);
  }
  if (bad.length > 0) {
    io.out(`unreadable: ${bad.length}`);
    for (const b of bad.slice(0, 20)) io.out(`  ${b}`);
    if (bad.length > 20) io.out(`  ... ${bad.length - 20} more`);
    problems.push(`${bad.length} unreadable image(s), e.g. ${displayPath(bad[0]!, undefined)}`);
  }
  for (const p of problems) io.out(`problem: ${p}`);
  io.out(problems.length === 0 ? 'OK: no problems found' : `${problems.length} problem(s)`);
  return problems.length === 0 ? 0 : 1;
}
