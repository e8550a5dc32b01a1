/**
 * The WebGPU adapters (GPU cards, or software rasterisers such as llvmpipe) that Dawn's
 * Node binding (the `webgpu` npm package) can open on this machine, in Dawn's order.
 *
 * Shared by the engine (its GPU pool counts the cards WebGPU can use) and the study's
 * backend choice (is there a hardware adapter? which one is card k?), so it lives on the
 * ground floor and imports nothing of ours. Starting Dawn costs ~0.5 s and loads the
 * Vulkan driver, so the list comes from a short child process and is cached on disk,
 * keyed by what could change it (boot, driver manifests, device nodes, the Vulkan/Dawn
 * environment variables, the dawn.node binary); a `dag status` never starts Dawn.
 *
 * dawn.node has no adapter enumeration API; asking it for an adapter whose name matches
 * nothing makes it reject with the list of every adapter it found, one
 * ` * backend: 'vulkan', name: '...'` line each. That list is what we parse.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One adapter as Dawn lists it. */
export interface WebGpuAdapterEntry {
  /** Dawn backend: 'vulkan' (Linux), 'metal' (macOS), 'd3d12' (Windows), ... */
  readonly backend: string;
  /** The adapter's device name, e.g. 'NVIDIA H200' or 'llvmpipe (LLVM 15.0.6, 256 bits)'. */
  readonly name: string;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, WARP): never picked automatically. */
  readonly software: boolean;
}

/** What the probe found. */
export interface WebGpuInventory {
  /** Every adapter, in Dawn's order (empty when none or when the probe failed). */
  readonly adapters: readonly WebGpuAdapterEntry[];
  /** Why the list could not be taken (package missing, Dawn failed to start), else null. */
  readonly error: string | null;
  /** 'probe' (a child process ran now) or 'cache'. */
  readonly source: 'probe' | 'cache';
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

/** True for names of CPU rasterisers (llvmpipe, lavapipe, SwiftShader, WARP). */
export function isSoftwareAdapterName(name: string): boolean {
  return SOFTWARE.test(name);
}

/** Parses dawn.node's "Available adapters:" message into entries. */
export function parseAdapterList(message: string): WebGpuAdapterEntry[] {
  const out: WebGpuAdapterEntry[] = [];
  for (const line of message.split('\n')) {
    const m = /^\s*\*\s*backend:\s*'([^']*)',\s*name:\s*'(.*)'\s*$/.exec(line);
    if (m) out.push({ backend: m[1]!, name: m[2]!, software: isSoftwareAdapterName(m[2]!) });
  }
  return out;
}

/** The hardware adapters (the cards), in Dawn's order. */
export function hardwareAdapters(inv: WebGpuInventory): WebGpuAdapterEntry[] {
  return inv.adapters.filter((a) => !a.software);
}

const require = createRequire(import.meta.url);

/** Path of the `webgpu` package's entry, or null when it is not installed. */
export function webgpuPackageEntry(): string | null {
  try {
    return require.resolve('webgpu');
  } catch {
    return null;
  }
}

/** Environment variables that change which adapters Vulkan/Dawn expose. */
const ENV_KEYS = [
  'VK_ICD_FILENAMES',
  'VK_DRIVER_FILES',
  'VK_ADD_DRIVER_FILES',
  'VK_LOADER_DRIVERS_SELECT',
  'VK_LOADER_DRIVERS_DISABLE',
  'VK_LOADER_DEVICE_SELECT',
  'VK_INSTANCE_LAYERS',
  'MESA_VK_DEVICE_SELECT',
  'MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE',
  'DRI_PRIME',
  'DAWNNODE_BACKEND',
  'NVIDIA_VISIBLE_DEVICES',
  'LD_LIBRARY_PATH',
];

function listing(dir: string): string {
  try {
    return readdirSync(dir)
      .sort()
      .map((f) => {
        try {
          return `${f}@${statSync(join(dir, f)).mtimeMs}`;
        } catch {
          return f;
        }
      })
      .join(',');
  } catch {
    return '-';
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** Everything the adapter list depends on, as one string. */
function cacheKey(entry: string): string {
  let bin = '-';
  try {
    const dir = dirname(entry);
    const sub = readdirSync(join(dir, 'dist')).find((d) => d.startsWith(`${process.platform}-`));
    if (sub) {
      const s = statSync(join(dir, 'dist', sub, 'dawn.node'));
      bin = `${sub}:${s.size}:${s.mtimeMs}`;
    }
  } catch {
    /* key without it */
  }
  const devNodes = (() => {
    try {
      return readdirSync('/dev').filter((f) => f.startsWith('nvidia') || f === 'dri' || f === 'kfd').sort().join(',');
    } catch {
      return '-';
    }
  })();
  return JSON.stringify([
    1,
    hostname(),
    readOr('/proc/sys/kernel/random/boot_id', '-'),
    entry,
    bin,
    ENV_KEYS.map((k) => process.env[k] ?? null),
    ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/share/vulkan/implicit_layer.d', '/dev/dri'].map(listing),
    devNodes,
  ]);
}

function cacheFile(): string {
  const dir = process.env['DAG_WEBGPU_CACHE_DIR'] ?? join(tmpdir(), `dag-webgpu-${userInfo().uid}`);
  return join(dir, 'adapters.json');
}

/** The child's script: asks for an adapter no name matches and prints Dawn's list. */
const PROBE = `
const { create } = await import(process.argv[1]);
let message = '';
try {
  const a = await create(['adapter=\\u0001dag-probe-no-such-adapter']).requestAdapter();
  message = a ? 'unexpected: matched' : '';
} catch (e) { message = String(e && e.message !== undefined ? e.message : e); }
process.stdout.write(JSON.stringify({ message }));
process.exit(0);
`;

/** Runs the probe child now (no cache). */
function probe(entry: string): WebGpuInventory {
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE, pathToFileURL(entry).href], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const { message } = JSON.parse(out) as { message: string };
    return { adapters: parseAdapterList(message), error: null, source: 'probe' };
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    const why = (err.stderr ?? '').split('\n').find((l) => /error/i.test(l)) ?? err.message ?? String(e);
    return { adapters: [], error: `Dawn failed to start: ${why.slice(0, 300)}`, source: 'probe' };
  }
}

let memo: WebGpuInventory | undefined;

/**
 * The adapters Dawn sees, from the disk cache when nothing it depends on changed,
 * else from a child process (~0.5 s). `fresh` skips the cache. Never throws.
 */
export function listWebGpuAdapters(opts: { fresh?: boolean } = {}): WebGpuInventory {
  if (memo !== undefined && !opts.fresh) return memo;
  const entry = webgpuPackageEntry();
  if (entry === null) return (memo = { adapters: [], error: 'the `webgpu` package is not installed', source: 'probe' });
  const key = cacheKey(entry);
  const file = cacheFile();
  if (!opts.fresh && existsSync(file)) {
    try {
      const c = JSON.parse(readFileSync(file, 'utf8')) as { key: string; adapters: WebGpuAdapterEntry[] };
      if (c.key === key && Array.isArray(c.adapters)) return (memo = { adapters: c.adapters, error: null, source: 'cache' });
    } catch {
      /* re-probe */
    }
  }
  const inv = probe(entry);
  if (inv.error === null) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ key, adapters: inv.adapters }));
    } catch {
      /* a read-only tmp only costs a re-probe next time */
    }
  }
  return (memo = inv);
}
