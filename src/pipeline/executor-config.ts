/**
 * The `executor:` block of pipeline.yaml (top level, and per stage to override it): which
 * executor `dag run` uses by default and the Slurm settings of the jobs it submits. None
 * of it enters a cache key: where an instance runs does not change what it computes.
 *
 * ```yaml
 * executor:
 *   type: slurm              # default executor of `dag run` (`--executor` overrides); default local
 *   partition: gpu
 *   account: mylab
 *   qos: normal
 *   time: "4:00:00"          # Slurm time limit: MIN, MIN:SEC, H:M:S, D-H, D-H:M, D-H:M:S
 *   sbatch: ["--constraint=a100"]
 *   array_max: 100           # at most this many instances per job array
 * stages:
 *   finetune:
 *     executor: { time: "8:00:00" }
 * ```
 */
import { isScalar } from 'yaml';
import type { Diagnostics } from './diagnostics.ts';
import type { ExecutorSettings, SourceLocation } from '../core/plan.ts';
import { asMap, asSeq, describeNode, type SourceFile } from './source.ts';
import { didYouMean } from '../core/suggest.ts';

/** Keys of the top-level `executor:` block. */
export const EXECUTOR_KEYS = ['type', 'partition', 'account', 'qos', 'time', 'sbatch', 'array_max'] as const;
/** Keys a stage's `executor:` block may override. */
export const STAGE_EXECUTOR_KEYS = ['partition', 'account', 'qos', 'time', 'sbatch'] as const;
/** Executor names. */
export const EXECUTOR_TYPES = ['local', 'slurm'] as const;

/** sbatch options dag sets itself: a user value would break job arrays, logs or status. */
const RESERVED_SBATCH = ['--array', '-a', '--output', '-o', '--error', '-e', '--parsable', '--wrap', '--job-name', '-J', '--chdir', '-D'];

const TIME_RE = /^(\d+-\d+(:\d+){0,2}|\d+(:\d+){0,2}|UNLIMITED|INFINITE)$/i;

/** True for a Slurm time limit string (`90`, `1:30:00`, `2-00:00:00`, `UNLIMITED`). */
export function isSlurmTime(s: string): boolean {
  return TIME_RE.test(s);
}

/**
 * Parse an `executor:` map (top level when `stage` is undefined). Problems are reported
 * at file:line:col; the valid keys are returned.
 */
export function parseExecutorBlock(src: SourceFile, diag: Diagnostics, node: unknown, keyLoc: SourceLocation, stage?: string): ExecutorSettings {
  const out: ExecutorSettings = {};
  const where = stage === undefined ? "'executor'" : `'executor' of stage '${stage}'`;
  const v = src.deref(node);
  const m = asMap(v);
  if (m === undefined) {
    diag.error('SCHEMA_TYPE', `${where} must be a map (${(stage === undefined ? EXECUTOR_KEYS : STAGE_EXECUTOR_KEYS).join(', ')}), found ${describeNode(v)}`, src.of(v, keyLoc));
    return out;
  }
  const allowed: readonly string[] = stage === undefined ? EXECUTOR_KEYS : STAGE_EXECUTOR_KEYS;
  for (const e of src.entries(m)) {
    const kLoc = src.of(e.keyNode, keyLoc);
    const val = src.deref(e.value);
    const vLoc = src.of(val, kLoc);
    if (!allowed.includes(e.key)) {
      const onlyTop = (EXECUTOR_KEYS as readonly string[]).includes(e.key);
      diag.error('UNKNOWN_KEY', onlyTop ? `'${e.key}' can only be set in the top-level 'executor' block, not per stage` : `unknown key '${e.key}' in ${where}${didYouMean(e.key, allowed)}`, kLoc);
      continue;
    }
    const js = src.js(val);
    switch (e.key) {
      case 'type':
        if (typeof js !== 'string' || !(EXECUTOR_TYPES as readonly string[]).includes(js)) {
          diag.error('SCHEMA_TYPE', `'executor.type' must be one of ${EXECUTOR_TYPES.join(', ')}, found ${describeNode(val)}`, vLoc);
        } else out.type = js as ExecutorSettings['type'];
        break;
      case 'partition':
      case 'account':
      case 'qos':
        if (typeof js !== 'string' || js === '' || /\s/.test(js)) diag.error('SCHEMA_TYPE', `'executor.${e.key}' must be a name without spaces, found ${describeNode(val)}`, vLoc);
        else out[e.key] = js;
        break;
      case 'time': {
        const t = typeof js === 'number' && Number.isInteger(js) && js > 0 ? String(js) : js;
        if (typeof t !== 'string' || !isSlurmTime(t)) {
          diag.error('SCHEMA_TYPE', `'executor.time' must be a Slurm time limit (minutes, "H:MM:SS" or "D-HH:MM:SS"; quote it), found ${describeNode(val)}`, vLoc);
        } else out.time = t;
        break;
      }
      case 'sbatch': {
        const seq = asSeq(val);
        if (seq === undefined) {
          diag.error('SCHEMA_TYPE', `'executor.sbatch' must be a list of sbatch options such as ["--constraint=a100"], found ${describeNode(val)}`, vLoc);
          break;
        }
        const args: string[] = [];
        for (const item of seq.items) {
          const n = src.deref(item);
          const loc = src.of(n, vLoc);
          if (!isScalar(n) || typeof n.value !== 'string' || !n.value.startsWith('-')) {
            diag.error('SCHEMA_TYPE', `an 'executor.sbatch' entry must be one option string starting with '-', found ${describeNode(n)}`, loc);
            continue;
          }
          const name = n.value.split('=')[0]!;
          if (RESERVED_SBATCH.includes(name)) {
            diag.error('SCHEMA_TYPE', `sbatch option '${name}' is set by dag itself (job arrays, logs and status depend on it)`, loc);
            continue;
          }
          args.push(n.value);
        }
        out.sbatch = args;
        break;
      }
      case 'array_max':
        if (typeof js !== 'number' || !Number.isInteger(js) || js < 1 || js > 100000) diag.error('SCHEMA_TYPE', `'executor.array_max' must be a whole number >= 1, found ${describeNode(val)}`, vLoc);
        else out.arrayMax = js;
        break;
      default:
        break;
    }
  }
  return out;
}
