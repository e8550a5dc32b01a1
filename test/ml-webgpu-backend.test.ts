/**
 * The webgpu backend in the backend choice: Dawn's adapter list, which adapter a process
 * opens (card k, software adapters, identical cards), the engine's GPU count, and a real
 * `dag doctor` on the llvmpipe adapter that scripts/setup.d/10-webgpu.sh installs.
 * A machine without an adapter FAILS these tests with the reason (never a silent skip).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { listWebGpuAdapters, parseAdapterList, type WebGpuInventory } from '../src/core/webgpu-adapters.ts';
import { describeBackendChoice, selectWebGpuAdapter } from '../src/ml/backend.ts';
import { detectGpus } from '../src/executor/gpus.ts';

const run = promisify(execFile);
const inv = (...names: string[]): WebGpuInventory => ({ adapters: parseAdapterList(`no suitable backends found\nAvailable adapters:\n${names.map((n) => ` * backend: 'vulkan', name: '${n}'`).join('\n')}`), error: null, source: 'probe' });

/** Runs `fn` with DAG_GPU set (or deleted for undefined), restoring it after. */
function withCard<T>(card: string | undefined, fn: () => T): T {
  const old = process.env['DAG_GPU'];
  if (card === undefined) delete process.env['DAG_GPU'];
  else process.env['DAG_GPU'] = card;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env['DAG_GPU'];
    else process.env['DAG_GPU'] = old;
  }
}

test('Dawn lists an adapter on this machine (else: bash scripts/setup.sh installs Mesa 25 llvmpipe)', () => {
  const got = listWebGpuAdapters({ fresh: true });
  assert.equal(got.error, null, `WebGPU adapter probe failed: ${got.error}; run bash scripts/setup.sh`);
  assert.ok(got.adapters.length >= 1, 'Dawn found no WebGPU adapter: run `bash scripts/setup.sh` (installs mesa-vulkan-drivers 25 from bookworm-backports for llvmpipe)');
  assert.equal(got.source, 'probe');
  assert.deepEqual(listWebGpuAdapters(), got, 'the cached list equals the probed one');
});

test("dawn.node's adapter list parses, and software rasterisers are recognised", () => {
  const i = inv('NVIDIA H200', 'llvmpipe (LLVM 15.0.6, 256 bits)', 'SwiftShader Device (Subzero)', 'AMD Radeon RX 7900 XTX (RADV NAVI31)');
  assert.deepEqual(i.adapters.map((a) => a.software), [false, true, true, false]);
  assert.equal(i.adapters[0]!.backend, 'vulkan');
});

test('auto never opens a software adapter; DAG_BACKEND=webgpu forces it', () => {
  withCard(undefined, () => {
    const soft = inv('llvmpipe (LLVM 15.0.6, 256 bits)');
    assert.equal(selectWebGpuAdapter(false, soft).adapter, null);
    assert.match(selectWebGpuAdapter(false, soft).note, /only software adapters.*DAG_BACKEND=webgpu/);
    assert.deepEqual(selectWebGpuAdapter(true, soft).flags, ['adapter=llvmpipe (LLVM 15.0.6, 256 bits)']);
    assert.equal(selectWebGpuAdapter(false, inv()).adapter, null);
    assert.match(selectWebGpuAdapter(true, inv()).note, /no adapter.*scripts\/setup\.sh/);
  });
});

test('card k opens the k-th hardware adapter; identical cards are refused, never shared', () => {
  const two = inv('llvmpipe (LLVM 15.0.6, 256 bits)', 'NVIDIA H100', 'NVIDIA A100');
  assert.equal(withCard('1', () => selectWebGpuAdapter(false, two)).adapter?.name, 'NVIDIA A100');
  assert.deepEqual(withCard('0', () => selectWebGpuAdapter(false, two)).flags, ['adapter=NVIDIA H100']);
  assert.match(withCard('2', () => selectWebGpuAdapter(false, two)).note, /not one of the 2 hardware adapters/);
  assert.match(withCard('', () => selectWebGpuAdapter(false, two)).note, /CPU slot/);
  assert.equal(withCard('', () => selectWebGpuAdapter(true, two)).adapter, null, 'a CPU slot never opens WebGPU, even forced');
  const same = inv('NVIDIA H200', 'NVIDIA H200');
  assert.equal(withCard('0', () => selectWebGpuAdapter(false, same)).adapter?.name, 'NVIDIA H200');
  const second = withCard('1', () => selectWebGpuAdapter(false, same));
  assert.equal(second.adapter, null);
  assert.match(second.note, /cannot be told apart/);
  // A process that sees one card (isolated by cgroups or a container) uses it whatever its id.
  assert.equal(withCard('3', () => selectWebGpuAdapter(false, inv('NVIDIA H200'))).adapter?.name, 'NVIDIA H200');
});

test("the engine's GPU pool counts WebGPU's hardware adapters, not software ones", () => {
  const env = { PATH: '/nonexistent' };
  assert.deepEqual(detectGpus(undefined, env, () => inv('llvmpipe (LLVM 15.0.6, 256 bits)')), { ids: [], source: 'none' });
  assert.deepEqual(detectGpus(undefined, env, () => inv('AMD Radeon Pro W7900 (RADV NAVI31)', 'llvmpipe (LLVM 15.0.6, 256 bits)', 'AMD Radeon Pro W7800 (RADV NAVI31)')), { ids: ['0', '1'], source: 'webgpu' });
  assert.deepEqual(detectGpus('1', env, () => inv('A', 'B')), { ids: ['0'], source: 'flag' });
  // Forced webgpu: a software adapter is the run's one card.
  assert.deepEqual(detectGpus(undefined, { ...env, DAG_BACKEND: 'webgpu' }, () => inv('llvmpipe (LLVM 15.0.6, 256 bits)')), { ids: ['0'], source: 'webgpu' });
});

test('describeBackendChoice records why webgpu was not picked by auto on a software-only machine', () => {
  const c = withCard(undefined, () => describeBackendChoice({ prefer: 'auto' }));
  const p = c.probes.find((q) => q.backend === 'webgpu');
  assert.ok(p, 'webgpu is a candidate');
  if (c.webgpu?.inventory.adapters.every((a) => a.software)) {
    assert.notEqual(c.backend, 'webgpu');
    assert.equal(p.outcome.status, 'no-card');
  }
  assert.equal(describeBackendChoice({ prefer: 'webgpu' }).backend, 'webgpu');
});

test('dag doctor with DAG_BACKEND=webgpu opens the adapter, computes and prints it', async () => {
  const { stdout } = await run(process.execPath, ['bin/dag.js', 'doctor', '--json'], { env: { ...process.env, DAG_BACKEND: 'webgpu' }, timeout: 120_000 });
  const r = JSON.parse(stdout) as { ok: boolean; backend: string; selfCheck: { ok: boolean }; info: { webgpuAdapter: { vendor: string; description: string; software: boolean } } };
  assert.equal(r.backend, 'webgpu', `doctor did not start webgpu; run bash scripts/setup.sh\n${stdout.slice(0, 2000)}`);
  assert.equal(r.ok, true);
  assert.equal(r.selfCheck.ok, true);
  assert.ok(r.info.webgpuAdapter.description.length > 0);
});
