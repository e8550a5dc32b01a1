/**
 * Small formatting helpers shared by the reporters and the CLI (durations, sizes,
 * devices, progress bars), so every view words things the same way.
 */
import type { DeviceAssignment, Progress } from '../core/contract.ts';

/** `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `512 B`, `1.2 KiB`, `3.4 MiB`, `1.0 GiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `cpu` or `gpu 1`. */
export function formatDevice(d: DeviceAssignment): string {
  switch (d.type) {
    case 'cpu':
      return 'cpu';
    case 'gpu':
      return `gpu ${d.id}`;
    default: {
      const never: never = d;
      throw new Error(`unhandled device ${JSON.stringify(never)}`);
    }
  }
}

/** `12/30 epoch loss 0.41` */
export function progressText(p: Progress): string {
  return `${p.done}/${p.total}${p.unit ? ` ${p.unit}` : ''}${p.message ? `  ${p.message}` : ''}`;
}
