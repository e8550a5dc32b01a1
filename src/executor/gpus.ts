/**
 * Which GPU cards the run may use: `--gpus N` (ids 0..N-1) or `--gpus 0,2`, else
 * CUDA_VISIBLE_DEVICES, else `nvidia-smi -L` when that binary is on PATH, else none.
 * Each GPU instance later gets exactly one of these ids as its CUDA_VISIBLE_DEVICES.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the card list came from (shown by `dag run` and `dag doctor`). */
export type GpuSource = 'flag' | 'env' | 'nvidia-smi' | 'none';

/** A bad `--gpus` value. */
export class GpuFlagError extends Error {
  override readonly name = 'GpuFlagError';
  readonly code = 'BAD_GPUS';
}

/** Parse a `--gpus` value: `2` -> [0,1], `0,2` -> [0,2], `none`/`0` -> []. */
export function parseGpuFlag(value: string): string[] {
  const v = value.trim();
  if (v === 'none' || v === '0' || v === '') return [];
  if (/^\d+$/.test(v)) return Array.from({ length: Number(v) }, (_, i) => String(i));
  const ids = v.split(',').map((s) => s.trim());
  // A card id is what CUDA_VISIBLE_DEVICES accepts: an index, or a GPU-/MIG- UUID.
  const bad = ids.find((s) => !/^(\d+|(GPU|MIG)-[\w-]+)$/.test(s));
  if (bad !== undefined) {
    throw new GpuFlagError(`--gpus "${value}": '${bad}' is not a card; expected a count (2), card ids (0,2 or GPU-<uuid>) or none`);
  }
  const twice = ids.find((s, i) => ids.indexOf(s) !== i);
  if (twice !== undefined) throw new GpuFlagError(`--gpus "${value}": card ${twice} is listed twice`);
  return ids;
}

function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, bin))) return true;
  }
  return false;
}

/** Resolve the card ids for this run. */
export function detectGpus(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { ids: string[]; source: GpuSource } {
  if (flag !== undefined) return { ids: parseGpuFlag(flag), source: 'flag' };
  const cvd = env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined) {
    const ids = cvd.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-1');
    return { ids, source: 'env' };
  }
  if (onPath('nvidia-smi')) {
    const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) {
      const ids = r.stdout
        .split('\n')
        .map((l) => /^GPU (\d+):/.exec(l)?.[1])
        .filter((x): x is string => x !== undefined);
      return { ids, source: 'nvidia-smi' };
    }
  }
  return { ids: [], source: 'none' };
}
