/**
 * `dag weights` — vet a Keras `.h5` weights file before hours of training depend on it.
 *
 *   dag weights check FILE.h5 [--model resnet50] [--input 224] [--classes N] [--allow-extra] [--json]
 *   dag weights ls FILE.h5 [--json]
 *
 * `check` compares the file's layers and shapes with the variant's layer plan (no model
 * is built and no array is read, so a 100 MB ResNet50 file is checked in well under a
 * second) and prints matched, missing, extra and mismatched layers with both shapes.
 * Exit status: 0 the file fits, 1 it does not, 2 bad usage or an unreadable file.
 */
import { StageError } from '../core/contract.ts';
import { checkWeightsFit, inspectKerasWeights, type KerasWeightsInfo, type WeightsFit } from './keras-h5.ts';
import { comparedLayers, comparedSpatial, listVariants, variantSpec } from './resnet.ts';

/** Where the command writes (injectable for tests). */
export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const USAGE = [
  'usage: dag weights check FILE.h5 [--model VARIANT] [--input SIZE] [--classes N] [--allow-extra] [--json]',
  '       dag weights ls FILE.h5 [--json]',
  '',
  `variants: ${listVariants().map((v) => v.name).join(', ')} (default resnet50)`,
  'exit status: 0 fits, 1 does not fit, 2 usage error or unreadable file',
].join('\n');

class UsageError extends Error {}

interface Parsed {
  sub: string;
  file: string;
  model: string;
  input: number | null;
  classes: number | null;
  allowExtra: boolean;
  json: boolean;
}

function parse(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const p: Omit<Parsed, 'sub' | 'file'> = { model: 'resnet50', input: null, classes: null, allowExtra: false, json: false };
  const intArg = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer >= ${min}, got '${v ?? ''}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--model':
        p.model = value() ?? '';
        break;
      case '--input':
        p.input = intArg('--input', value(), 32);
        break;
      case '--classes':
        p.classes = intArg('--classes', value(), 2);
        break;
      case '--allow-extra':
        p.allowExtra = true;
        break;
      case '--json':
        p.json = true;
        break;
      case '-h':
      case '--help':
        throw new UsageError('');
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        positional.push(a);
    }
  }
  const [sub, file, ...more] = positional;
  if (!sub) throw new UsageError('');
  if (sub !== 'check' && sub !== 'ls') throw new UsageError(`unknown subcommand '${sub}'`);
  if (!file) throw new UsageError(`dag weights ${sub} needs a FILE.h5`);
  if (more.length > 0) throw new UsageError(`unexpected argument '${more[0]}'`);
  return { sub, file, ...p };
}

const shape = (s: readonly number[] | null): string => (s === null ? 'absent' : `[${s.join(', ')}]`);

function describeFile(info: KerasWeightsInfo): string {
  const parts = [
    `layout ${info.layout}`,
    `keras ${info.kerasVersion ?? '?'}`,
    `${info.layers.length} layers with weights`,
  ];
  if (info.nested.length > 0) parts.push(`nested: ${info.nested.join(', ')}`);
  return `${info.file}: Keras weights (${parts.join(', ')})`;
}

function fits(fit: WeightsFit, allowExtra: boolean): boolean {
  return fit.missing.length === 0 && fit.mismatched.length === 0 && (allowExtra || fit.extra.length === 0);
}

async function check(p: Parsed, io: CommandIo): Promise<number> {
  const spec = variantSpec(p.model);
  const info = await inspectKerasWeights(p.file);
  const fit = await checkWeightsFit(p.file, spec.name, p.classes === null ? {} : { classes: p.classes });
  const ok = fits(fit, p.allowExtra);
  if (p.json) {
    io.out(JSON.stringify({ file: p.file, model: spec.name, input: p.input, layout: info.layout, fits: ok, ...fit }));
    return ok ? 0 : 1;
  }
  io.out(describeFile(info));
  const expected = fit.matched.length + fit.missing.length + new Set(fit.mismatched.map((m) => m.layer)).size;
  io.out(`model ${spec.name}${p.classes === null ? '' : ` + dense head (${p.classes} classes)`}: ${expected} layers with weights expected`);
  if (p.input !== null) {
    const sp = comparedSpatial([p.input, p.input]);
    const cl = comparedLayers(spec);
    io.out(`input ${p.input}: ${Object.entries(cl).map(([col, layer]) => `${layer} ${sp[col as keyof typeof sp].join('x')}`).join(', ')} (weights do not depend on the input size)`);
  }
  io.out(`matched     ${fit.matched.length}`);
  io.out(`missing     ${fit.missing.length}${fit.missing.length ? `: ${fit.missing.join(', ')}` : ''}`);
  io.out(`extra       ${fit.extra.length}${fit.extra.length ? `: ${fit.extra.join(', ')}${p.allowExtra ? ' (allowed)' : ''}` : ''}`);
  io.out(`mismatched  ${fit.mismatched.length}`);
  for (const m of fit.mismatched) io.out(`  ${m.layer}/${m.weight}: expected ${shape(m.expected)}, found ${shape(m.found)}`);
  io.out(ok ? `fits ${spec.name}: yes` : `fits ${spec.name}: NO`);
  if (!ok && fit.extra.length > 0 && fit.missing.length === 0 && fit.mismatched.length === 0) {
    io.out('hint: a fine-tuned checkpoint has a head; pass --classes N to check it too, or --allow-extra');
  }
  return ok ? 0 : 1;
}

async function ls(p: Parsed, io: CommandIo): Promise<number> {
  const info = await inspectKerasWeights(p.file);
  if (p.json) {
    io.out(JSON.stringify(info));
    return 0;
  }
  io.out(describeFile(info));
  for (const l of info.layers) {
    const where = l.nestedIn ? ` (in ${l.nestedIn})` : '';
    io.out(`${l.layer}${where}: ${l.weights.map((w) => `${w.weight} ${shape(w.shape)}`).join(', ')}`);
  }
  return 0;
}

/** Entry point of `dag weights ...` (argv after `weights`); resolves with the exit status. */
export async function main(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message) io.err(`dag weights: ${e.message}`);
    io.err(USAGE);
    return 2;
  }
  try {
    switch (p.sub) {
      case 'check':
        return await check(p, io);
      case 'ls':
        return await ls(p, io);
      default:
        throw new Error(`unreachable subcommand ${p.sub}`);
    }
  } catch (e) {
    if (e instanceof StageError) {
      io.err(`dag weights: ${e.message} [${e.code}]`);
      return 2;
    }
    throw e;
  }
}
