/**
 * What `dag doctor` (commands/doctor.ts) reports: what this machine will compute on, and why
 * not on something better.
 *
 * `doctorReport` initialises the backend for real (through `loadTf`) and collects its
 * version, the tfjs version, wasm SIMD / threads, the visible CUDA cards and
 * CUDA_VISIBLE_DEVICES, the reason each better backend was not picked, a one-second
 * self-check (a conv gradient) and the machine (node, cores, memory); `formatDoctor` renders
 * it as text. Nothing here prints.
 */
import os from 'node:os';
import { BackendError, loadTf, type BackendInfo, type BackendName, type BackendPreference } from './backend.ts';

/** Everything doctor reports, also its `--json` output. */
export interface DoctorReport {
  readonly ok: boolean;
  readonly backend: BackendName | null;
  readonly info: BackendInfo | null;
  /** Why no backend could be loaded (only when ok is false). */
  readonly error: string | null;
  readonly selfCheck: { readonly ok: boolean; readonly ms: number; readonly detail: string } | null;
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly freeMemoryGiB: number;
  };
}

/** A tiny conv forward + both gradients: proves the backend (and our kernels) compute. */
async function selfCheck(tf: import('./backend.ts').Tf): Promise<DoctorReport['selfCheck']> {
  const t0 = performance.now();
  try {
    const x = tf.ones([2, 8, 8, 3]) as import('@tensorflow/tfjs').Tensor4D;
    const w = tf.ones([3, 3, 3, 4]) as import('@tensorflow/tfjs').Tensor4D;
    const [gx, gw] = tf.grads((a: import('@tensorflow/tfjs').Tensor, b: import('@tensorflow/tfjs').Tensor) =>
      tf.conv2d(a as import('@tensorflow/tfjs').Tensor4D, b as import('@tensorflow/tfjs').Tensor4D, 2, 'same').sum(),
    )([x, w]);
    // With all-ones inputs the filter gradient of a tap equals the number of output
    // pixels that tap touches; the centre tap touches all 2*4*4 = 32.
    const centre = (await gw!.data())[(1 * 3 + 1) * 3 * 4]!;
    const dxSum = (await gx!.sum().data())[0]!;
    tf.dispose([x, w, gx!, gw!]);
    const ok = centre === 32 && dxSum > 0;
    return { ok, ms: performance.now() - t0, detail: ok ? 'conv2d forward + gradients computed' : `unexpected gradient values (centre tap ${centre})` };
  } catch (e) {
    return { ok: false, ms: performance.now() - t0, detail: e instanceof Error ? e.message : String(e) };
  }
}

/** Collects the report (initialises the backend). */
export async function doctorReport(opts: { prefer?: BackendPreference; threads?: number } = {}): Promise<DoctorReport> {
  const machine = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((os.freemem() / 2 ** 30) * 10) / 10,
  };
  try {
    const rt = await loadTf({ ...(opts.prefer !== undefined ? { prefer: opts.prefer } : {}), ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
    const check = await selfCheck(rt.tf);
    return { ok: check?.ok ?? false, backend: rt.backend, info: rt.info, error: null, selfCheck: check, machine };
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    return { ok: false, backend: null, info: null, error: e.message, selfCheck: null, machine };
  }
}

/** Human-readable rendering of a report. */
export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  const i = r.info;
  if (i !== null) {
    lines.push(`backend          ${r.backend} (${i.probes.find((p) => p.backend === r.backend)?.pkg ?? '?'} ${i.backendVersion}), tf.getBackend() = '${i.tfBackendName}'`);
    lines.push(`tfjs             ${i.tfjsVersion}`);
    lines.push(`chosen by        prefer=${i.preference} (${i.preferenceSource === 'env' ? 'DAG_BACKEND' : i.preferenceSource})`);
    if (r.backend === 'wasm') {
      lines.push(`wasm             SIMD ${i.wasmSimd ? 'on' : 'off'}, threads ${i.wasmThreads ?? '?'}${i.wasmThreadsNote ? ` (${i.wasmThreadsNote})` : ''}`);
      lines.push(`wasm kernels     ${i.customKernels.join(', ')} (added/replaced by dag)`);
    }
    lines.push(`init             ${i.initMs.toFixed(0)} ms`);
  } else {
    lines.push(`backend          NONE: ${r.error ?? 'unknown error'}`);
  }
  if (r.selfCheck) lines.push(`self-check       ${r.selfCheck.ok ? 'ok' : 'FAILED'}: ${r.selfCheck.detail} (${r.selfCheck.ms.toFixed(0)} ms)`);
  const gpu = i?.gpu;
  if (gpu) {
    lines.push(`CUDA cards       ${gpu.cards.length === 0 ? 'none visible' : gpu.cards.join('; ')}${gpu.source === 'none' ? '' : ` (from ${gpu.source})`}`);
    lines.push(`CUDA_VISIBLE_DEVICES ${gpu.cudaVisibleDevices === null ? '(unset)' : JSON.stringify(gpu.cudaVisibleDevices)}`);
    lines.push('candidates (best first):');
    for (const p of i.probes) {
      const o = p.outcome;
      const what = o.status === 'picked' ? 'PICKED' : `${o.status}: ${o.reason}`;
      lines.push(`  ${p.backend.padEnd(15)} ${p.pkg.padEnd(30)} ${(p.version ?? '-').padEnd(8)} ${what}`);
    }
    if (r.backend !== 'tensorflow-gpu' && r.backend !== 'tensorflow') {
      lines.push('hint             native TensorFlow is much faster: see docs/ml-runtime.md ("GPU / native install")');
    }
  }
  const m = r.machine;
  lines.push(`machine          node ${m.node}, ${m.platform}, ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory (${m.freeMemoryGiB} free)`);
  return lines.join('\n');
}
