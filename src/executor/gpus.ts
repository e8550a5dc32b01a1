/**
 * Which GPU cards the run may use: `--gpus N` (ids 0..N-1) or `--gpus 0,2`, else
 * CUDA_VISIBLE_DEVICES, else the cards found: as many as the larger of `nvidia-smi -L`
 * (CUDA) and the hardware adapters WebGPU (Dawn) can open (AMD, Intel, Apple, NVIDIA
 * through Vulkan/Metal; software rasterisers such as llvmpipe do not count), else none.
 * Each GPU instance later gets exactly one of these ids as its CUDA_VISIBLE_DEVICES and
 * DAG_GPU; the study's backend maps DAG_GPU=k to the k-th WebGPU hardware adapter.
 * The WebGPU list is cached on disk (src/core/webgpu-adapters.ts) and asked for only
 * when a GPU instance is about to run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { hardwareAdapters, listWebGpuAdapters, type WebGpuInventory } from '../core/webgpu-adapters.ts';

/** Where the card list came from (shown by `dag run` and `dag doctor`). */
export type GpuSource = 'flag' | 'env' | 'nvidia-smi' | 'webgpu' | 'none';

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

/** Resolve the card ids for this run (`webgpu` supplies the WebGPU adapter list; tests pass their own). */
export function detectGpus(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  webgpu: () => WebGpuInventory = listWebGpuAdapters,
): { ids: string[]; source: GpuSource } {
  if (flag !== undefined) return { ids: parseGpuFlag(flag), source: 'flag' };
  const cvd = env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined) {
    const ids = cvd.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-1');
    return { ids, source: 'env' };
  }
  let cuda: string[] = [];
  if (onPath('nvidia-smi')) {
    const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) {
      cuda = r.stdout
        .split('\n')
        .map((l) => /^GPU (\d+):/.exec(l)?.[1])
        .filter((x): x is string => x !== undefined);
    }
  }
  // DAG_BACKEND=webgpu forces WebGPU even on a software adapter (llvmpipe in CI): then that
  // adapter is the run's one card, so the GPU stages get it and run one at a time on it.
  const inv = webgpu();
  const webgpuCards = Math.max(hardwareAdapters(inv).length, env.DAG_BACKEND === 'webgpu' && inv.adapters.length > 0 ? 1 : 0);
  if (webgpuCards > cuda.length) return { ids: Array.from({ length: webgpuCards }, (_, i) => String(i)), source: 'webgpu' };
  if (cuda.length > 0) return { ids: cuda, source: 'nvidia-smi' };
  return { ids: [], source: 'none' };
}
