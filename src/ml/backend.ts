/**
 * TensorFlow.js runtime choice: which backend this process computes on.
 *
 * Order (best first): `@tensorflow/tfjs-node-gpu` (CUDA) when it is installed and
 * a CUDA card is visible, `@tensorflow/tfjs-node` (native TensorFlow on the CPU),
 * `@tensorflow/tfjs-backend-wasm` (with this project's gradient kernels, see
 * ./wasm-kernels/), and last the pure-JS `cpu` backend. The two node packages are
 * optional dependencies whose install downloads a native library, so on most
 * machines they are simply absent; every probe that fails is recorded with its
 * reason so `dag doctor` can say why a better backend was not used.
 *
 * Two entry points:
 * - `loadTf()` really initialises the backend (async, memoised per process);
 * - `describeBackendChoice()` cheaply predicts what `loadTf()` would pick, without
 *   importing tfjs, so the main process can put the backend into cache keys.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { Tf } from './tf.ts';

/** The tfjs namespace type that every ML module programs against (defined in ./tf.ts). */
export type { Tf };

/** A backend this module can pick, best first in `BACKEND_ORDER`. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** What the caller (or DAG_BACKEND) asks for; 'auto' walks the order. */
export type BackendPreference = 'auto' | BackendName;

/** Candidates in the order `loadTf({ prefer: 'auto' })` tries them. */
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Backends that compute on a GPU card (a stage given a card on any other computes on the CPU). */
export const GPU_BACKENDS: readonly BackendName[] = ['tensorflow-gpu'];

/** Why one candidate was not used (or `picked`). */
export type ProbeOutcome =
  | { readonly status: 'picked' }
  | { readonly status: 'not-installed'; readonly reason: string }
  | { readonly status: 'no-card'; readonly reason: string }
  | { readonly status: 'failed'; readonly reason: string }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'not-tried'; readonly reason: string };

/** One candidate backend and what happened to it. */
export interface BackendProbe {
  readonly backend: BackendName;
  /** npm package that provides it. */
  readonly pkg: string;
  /** Installed package version, or null when absent. */
  readonly version: string | null;
  readonly outcome: ProbeOutcome;
}

/** The visible CUDA cards, as far as a cheap look can tell. */
export interface GpuVisibility {
  /** Lines of `nvidia-smi -L` (or /proc/driver/nvidia/gpus entries), filtered by CUDA_VISIBLE_DEVICES. */
  readonly cards: readonly string[];
  /** Raw CUDA_VISIBLE_DEVICES, or null when unset. */
  readonly cudaVisibleDevices: string | null;
  /** How the cards were found: 'nvidia-smi', 'proc', or 'none'. */
  readonly source: 'nvidia-smi' | 'proc' | 'none';
}

/** Cheap prediction of the backend (see `describeBackendChoice`). */
export interface BackendChoice {
  readonly backend: BackendName;
  /** Version of the package that provides the backend. */
  readonly backendVersion: string;
  /** Version of @tensorflow/tfjs(-core) that will run the graph. */
  readonly tfjsVersion: string;
  readonly preference: BackendPreference;
  /** Where the preference came from. */
  readonly preferenceSource: 'option' | 'env' | 'default';
  readonly probes: readonly BackendProbe[];
  readonly gpu: GpuVisibility;
}

/** Facts about the backend that `loadTf` actually initialised. */
export interface BackendInfo extends BackendChoice {
  /** `tf.getBackend()` after initialisation. */
  readonly tfBackendName: string;
  /** Wasm only: SIMD binary in use. */
  readonly wasmSimd: boolean | null;
  /** Wasm only: threads actually used by the wasm module (1 = single-threaded). */
  readonly wasmThreads: number | null;
  /** Wasm only: why fewer threads than requested are used (null when none were lost). */
  readonly wasmThreadsNote: string | null;
  /** Names of the kernels this project registered on top of the backend. */
  readonly customKernels: readonly string[];
  /** Milliseconds spent loading and initialising. */
  readonly initMs: number;
}

/** The initialised runtime: the tf namespace whose backend is active, and what it is. */
export interface TfRuntime {
  readonly tf: Tf;
  /** Short backend name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu'. */
  readonly backend: BackendName;
  readonly info: BackendInfo;
}

/** Options of `loadTf`. */
export interface LoadTfOptions {
  /** Backend to use; default `DAG_BACKEND` or 'auto'. A named backend that fails is an error. */
  readonly prefer?: BackendPreference;
  /** Wasm threads (default `DAG_WASM_THREADS` or 1); see docs/ml-runtime.md. */
  readonly threads?: number;
}

/** A user-caused backend problem (bad DAG_BACKEND, requested backend unavailable). */
export class BackendError extends Error {
  /** Stable machine-readable code. */
  readonly code: 'BACKEND_BAD_PREFERENCE' | 'BACKEND_UNAVAILABLE';
  constructor(code: BackendError['code'], message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
  }
}

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

const require = createRequire(import.meta.url);

/** Parses a preference string (from an option or DAG_BACKEND); throws BackendError on junk. */
export function parsePreference(value: string, source: string): BackendPreference {
  // The names come from BACKEND_ORDER alone, so a backend added there is accepted here too.
  if (value === 'auto' || (BACKEND_ORDER as readonly string[]).includes(value)) return value as BackendPreference;
  throw new BackendError(
    'BACKEND_BAD_PREFERENCE',
    `${source}=${JSON.stringify(value)} is not a backend; expected one of auto, ${BACKEND_ORDER.join(', ')}`,
  );
}

function resolvePreference(opt: BackendPreference | undefined): {
  preference: BackendPreference;
  preferenceSource: BackendChoice['preferenceSource'];
} {
  if (opt !== undefined) return { preference: parsePreference(opt, 'prefer'), preferenceSource: 'option' };
  const env = process.env['DAG_BACKEND'];
  if (env !== undefined && env !== '') return { preference: parsePreference(env, 'DAG_BACKEND'), preferenceSource: 'env' };
  return { preference: 'auto', preferenceSource: 'default' };
}

/** Directory of an installed package, or null; never imports it. */
function packageDir(pkg: string): string | null {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    // Packages with an `exports` map may hide package.json: resolve the entry and walk up.
    try {
      let dir = dirname(require.resolve(pkg));
      for (let i = 0; i < 6; i++) {
        const candidate = join(dir, 'package.json');
        if (existsSync(candidate)) {
          const name = (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name;
          if (name === pkg) return dir;
        }
        dir = dirname(dir);
      }
    } catch {
      /* not installed */
    }
    return null;
  }
}

function packageVersion(dir: string | null): string | null {
  if (dir === null) return null;
  try {
    const v = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** True when a tfjs-node package has its native binding (its install step downloads it). */
function hasNativeBinding(dir: string): boolean {
  const lib = join(dir, 'lib');
  try {
    for (const entry of readdirSync(lib)) {
      if (existsSync(join(lib, entry, 'tfjs_binding.node'))) return true;
    }
  } catch {
    /* no lib directory */
  }
  return false;
}

/**
 * The CUDA cards this process may use: `nvidia-smi -L`, else /proc/driver/nvidia/gpus,
 * filtered by CUDA_VISIBLE_DEVICES ('' or '-1' hides every card; indices or GPU-UUIDs select).
 */
export function visibleGpus(): GpuVisibility {
  const cvd = process.env['CUDA_VISIBLE_DEVICES'] ?? null;
  const { all, source } = (installedCards ??= listInstalledCards());
  if (cvd === null) return { cards: all, cudaVisibleDevices: null, source };
  const wanted = cvd.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const picked: string[] = [];
  for (const w of wanted) {
    // CUDA stops at the first invalid entry (e.g. -1).
    if (/^\d+$/.test(w)) {
      const card = all[Number(w)];
      if (card === undefined) break;
      picked.push(card);
    } else {
      const card = all.find((c) => c.includes(w));
      if (card === undefined) break;
      picked.push(card);
    }
  }
  return { cards: picked, cudaVisibleDevices: cvd, source };
}

/** The machine's cards do not change while we run: ask nvidia-smi once per process. */
let installedCards: { all: readonly string[]; source: GpuVisibility['source'] } | undefined;

function listInstalledCards(): { all: readonly string[]; source: GpuVisibility['source'] } {
  let all: string[] = [];
  let source: GpuVisibility['source'] = 'none';
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    all = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('GPU '));
    if (all.length > 0) source = 'nvidia-smi';
  } catch {
    /* no driver tools */
  }
  if (all.length === 0) {
    try {
      const entries = readdirSync('/proc/driver/nvidia/gpus').sort();
      all = entries.map((e, i) => `GPU ${i}: (bus ${e})`);
      if (all.length > 0) source = 'proc';
    } catch {
      /* no driver */
    }
  }
  return { all, source };
}

function tfjsVersionOf(dir: string | null): string {
  // tfjs-node bundles its own @tensorflow/tfjs; report the one that will run.
  if (dir !== null) {
    try {
      const req = createRequire(join(dir, 'package.json'));
      const v = packageVersion(dirname(req.resolve('@tensorflow/tfjs-core/package.json')));
      if (v !== null) return v;
    } catch {
      /* fall through */
    }
  }
  return packageVersion(packageDir('@tensorflow/tfjs-core')) ?? packageVersion(packageDir('@tensorflow/tfjs')) ?? 'unknown';
}

/** Static probe of one candidate: installed? native binding present? card visible? */
function staticProbe(backend: BackendName, gpu: GpuVisibility): BackendProbe {
  const pkg = PACKAGES[backend];
  const dir = packageDir(pkg);
  const version = packageVersion(dir);
  if (dir === null) return { backend, pkg, version, outcome: { status: 'not-installed', reason: `${pkg} is not installed` } };
  switch (backend) {
    case 'tensorflow-gpu':
      if (!hasNativeBinding(dir)) {
        return { backend, pkg, version, outcome: { status: 'not-installed', reason: `${pkg} is installed but its native library is missing (its install-time download failed?)` } };
      }
      if (gpu.cards.length === 0) {
        const why = gpu.cudaVisibleDevices !== null ? `no CUDA card visible (CUDA_VISIBLE_DEVICES=${JSON.stringify(gpu.cudaVisibleDevices)})` : 'no CUDA card visible (nvidia-smi -L and /proc/driver/nvidia/gpus found none)';
        return { backend, pkg, version, outcome: { status: 'no-card', reason: why } };
      }
      return { backend, pkg, version, outcome: { status: 'not-tried', reason: 'candidate' } };
    case 'tensorflow':
      if (!hasNativeBinding(dir)) {
        return { backend, pkg, version, outcome: { status: 'not-installed', reason: `${pkg} is installed but its native library is missing (its install-time download failed?)` } };
      }
      return { backend, pkg, version, outcome: { status: 'not-tried', reason: 'candidate' } };
    case 'wasm':
    case 'cpu':
      return { backend, pkg, version, outcome: { status: 'not-tried', reason: 'candidate' } };
    default: {
      const never: never = backend;
      throw new Error(`unknown backend ${String(never)}`);
    }
  }
}

function candidatesFor(preference: BackendPreference): readonly BackendName[] {
  return preference === 'auto' ? BACKEND_ORDER : [preference];
}

/**
 * Cheap synchronous prediction of the backend `loadTf()` will pick: resolves the
 * packages (no import), checks the native bindings, GPU visibility and DAG_BACKEND.
 * Stage kinds call it from `runtimeKey()` so the backend enters cache keys. It can
 * only disagree with `loadTf()` when a package is present but fails to load.
 */
export function describeBackendChoice(opts: { prefer?: BackendPreference } = {}): BackendChoice {
  const { preference, preferenceSource } = resolvePreference(opts.prefer);
  const gpu = visibleGpus();
  const candidates = candidatesFor(preference);
  const probes: BackendProbe[] = [];
  let chosen: BackendProbe | null = null;
  for (const backend of BACKEND_ORDER) {
    const p = staticProbe(backend, gpu);
    if (!candidates.includes(backend)) {
      probes.push({ ...p, outcome: { status: 'skipped', reason: `not requested (prefer=${preference})` } });
      continue;
    }
    if (chosen === null && p.outcome.status === 'not-tried') {
      chosen = { ...p, outcome: { status: 'picked' } };
      probes.push(chosen);
    } else if (chosen !== null) {
      probes.push({ ...p, outcome: { status: 'not-tried', reason: `a better backend (${chosen.backend}) was picked` } });
    } else {
      probes.push(p);
    }
  }
  if (chosen === null) {
    // Requested a single backend that is unavailable; loadTf will throw. Describe it anyway.
    const only = candidates[0] ?? 'cpu';
    const p = probes.find((q) => q.backend === only);
    return {
      backend: only,
      backendVersion: p?.version ?? 'missing',
      tfjsVersion: tfjsVersionOf(null),
      preference,
      preferenceSource,
      probes,
      gpu,
    };
  }
  const nodeDir = chosen.backend === 'tensorflow' || chosen.backend === 'tensorflow-gpu' ? packageDir(chosen.pkg) : null;
  return {
    backend: chosen.backend,
    backendVersion: chosen.version ?? 'unknown',
    tfjsVersion: tfjsVersionOf(nodeDir),
    preference,
    preferenceSource,
    probes,
    gpu,
  };
}

/** Describes an error from a failed import/initialisation in one line. */
function errorLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}

interface Initialised {
  tf: Tf;
  tfBackendName: string;
  wasmSimd: boolean | null;
  wasmThreads: number | null;
  customKernels: readonly string[];
  threadsNote?: string | null;
}

async function initNode(pkg: string, backendName: 'tensorflow'): Promise<Initialised> {
  // tfjs-node(-gpu) re-exports the @tensorflow/tfjs it bundles with the 'tensorflow'
  // backend registered on *that* copy, so the module itself is the tf to hand out.
  const mod = (await import(pkg)) as Tf & { default?: Tf };
  const tf: Tf = typeof mod.setBackend === 'function' ? mod : (mod.default as Tf);
  const ok = await tf.setBackend(backendName);
  if (!ok) throw new Error(`tf.setBackend('${backendName}') returned false`);
  await tf.ready();
  return { tf, tfBackendName: tf.getBackend(), wasmSimd: null, wasmThreads: null, customKernels: [] };
}

async function initWasm(threads: number): Promise<Initialised> {
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  let threadsNote: string | null = null;
  if (threads > 1) {
    // tfjs disables wasm threads under Node (tfjs#3830); opt in explicitly.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
  }
  let ok = await tf.setBackend('wasm');
  if (!ok && threads > 1) {
    // Node 20 refuses the threaded build's blob: worker URL (ERR_WORKER_PATH);
    // the backend factory stays registered, so retry single-threaded.
    threadsNote = `threads=${threads} requested but the threaded wasm build failed to start under Node ${process.version}; using 1 thread`;
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
    ok = await tf.setBackend('wasm');
  }
  if (!ok) throw new Error(`tf.setBackend('wasm') returned false`);
  await tf.ready();
  const { registerWasmKernels } = await import('./wasm-kernels/index.ts');
  const customKernels = registerWasmKernels(tf);
  return { tf, tfBackendName: tf.getBackend(), wasmSimd: simd, wasmThreads: wasm.getThreadsCount(), customKernels, threadsNote };
}

async function initCpu(): Promise<Initialised> {
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error(`tf.setBackend('cpu') returned false`);
  await tf.ready();
  return { tf, tfBackendName: tf.getBackend(), wasmSimd: null, wasmThreads: null, customKernels: [] };
}

async function initBackend(backend: BackendName, threads: number): Promise<Initialised> {
  switch (backend) {
    case 'tensorflow-gpu':
      return initNode(PACKAGES['tensorflow-gpu'], 'tensorflow');
    case 'tensorflow':
      return initNode(PACKAGES.tensorflow, 'tensorflow');
    case 'wasm':
      return initWasm(threads);
    case 'cpu':
      return initCpu();
    default: {
      const never: never = backend;
      throw new Error(`unknown backend ${String(never)}`);
    }
  }
}

function threadsFrom(opt: number | undefined): number {
  if (opt !== undefined) return Math.max(1, Math.floor(opt));
  const env = process.env['DAG_WASM_THREADS'];
  const n = env === undefined ? NaN : Number(env);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

const memo = new Map<string, Promise<TfRuntime>>();

/**
 * Loads TensorFlow.js on the best available backend (see the module comment) and
 * returns the tf namespace whose backend is active. Memoised per process: tfjs
 * holds global state, so a second call with the same options returns the same
 * runtime. With `prefer` (or DAG_BACKEND) naming one backend, failing to load it
 * is a BackendError rather than a silent fallback.
 */
export function loadTf(opts: LoadTfOptions = {}): Promise<TfRuntime> {
  let preference: BackendPreference;
  try {
    preference = resolvePreference(opts.prefer).preference;
  } catch (e) {
    // A bad DAG_BACKEND is reported through the promise like every other failure.
    return Promise.reject(e);
  }
  const threads = threadsFrom(opts.threads);
  const key = `${preference}/${threads}`;
  let p = memo.get(key);
  if (p === undefined) {
    p = doLoad(opts.prefer, threads);
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

async function doLoad(prefer: BackendPreference | undefined, threads: number): Promise<TfRuntime> {
  const t0 = performance.now();
  const choice = describeBackendChoice(prefer === undefined ? {} : { prefer });
  const candidates = candidatesFor(choice.preference);
  const probes: BackendProbe[] = [];
  let picked: { probe: BackendProbe; init: Initialised } | null = null;
  for (const backend of BACKEND_ORDER) {
    const p = staticProbe(backend, choice.gpu);
    if (!candidates.includes(backend)) {
      probes.push({ ...p, outcome: { status: 'skipped', reason: `not requested (prefer=${choice.preference})` } });
      continue;
    }
    if (picked !== null) {
      probes.push({ ...p, outcome: { status: 'not-tried', reason: `a better backend (${picked.probe.backend}) was picked` } });
      continue;
    }
    if (p.outcome.status !== 'not-tried') {
      probes.push(p);
      continue;
    }
    try {
      const init = await initBackend(backend, threads);
      const probe: BackendProbe = { ...p, outcome: { status: 'picked' } };
      probes.push(probe);
      picked = { probe, init };
    } catch (e) {
      probes.push({ ...p, outcome: { status: 'failed', reason: `failed to load: ${errorLine(e)}` } });
    }
  }
  if (picked === null) {
    const reasons = probes
      .filter((q) => q.outcome.status !== 'skipped')
      .map((q) => `${q.backend}: ${'reason' in q.outcome ? q.outcome.reason : q.outcome.status}`)
      .join('; ');
    throw new BackendError('BACKEND_UNAVAILABLE', `no usable TensorFlow.js backend for prefer=${choice.preference}: ${reasons}`);
  }
  const { probe, init } = picked;
  const nodeDir = probe.backend === 'tensorflow' || probe.backend === 'tensorflow-gpu' ? packageDir(probe.pkg) : null;
  const info: BackendInfo = {
    backend: probe.backend,
    backendVersion: probe.version ?? 'unknown',
    tfjsVersion: (init.tf.version as Record<string, string> | undefined)?.['tfjs-core'] ?? tfjsVersionOf(nodeDir),
    preference: choice.preference,
    preferenceSource: choice.preferenceSource,
    probes,
    gpu: choice.gpu,
    tfBackendName: init.tfBackendName,
    wasmSimd: init.wasmSimd,
    wasmThreads: init.wasmThreads,
    wasmThreadsNote: init.threadsNote ?? null,
    customKernels: init.customKernels,
    initMs: performance.now() - t0,
  };
  return { tf: init.tf, backend: probe.backend, info };
}
