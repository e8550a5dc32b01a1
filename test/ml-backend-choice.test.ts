/**
 * Backend choice (src/ml/backend.ts): loadTf picks the best available backend,
 * records why better ones were not used, and describeBackendChoice predicts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BackendError, describeBackendChoice, loadTf, parsePreference, visibleGpus } from '../src/ml/backend.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const predicted = describeBackendChoice({ prefer: 'auto' });
const nodeInstalled = predicted.probes.some((p) => (p.backend === 'tensorflow' || p.backend === 'tensorflow-gpu') && p.version !== null);

test('loadTf picks wasm here and records why tfjs-node(-gpu) were not picked', { skip: nodeInstalled ? 'a tfjs-node package is installed on this machine' : false }, async () => {
  const rt = await loadTf({ prefer: 'auto' });
  assert.equal(rt.backend, 'wasm');
  assert.equal(rt.tf.getBackend(), 'wasm');
  assert.equal(rt.info.tfBackendName, 'wasm');
  const byName = new Map(rt.info.probes.map((p) => [p.backend, p]));
  for (const name of ['tensorflow-gpu', 'tensorflow'] as const) {
    const p = byName.get(name);
    assert.ok(p, name);
    assert.equal(p.outcome.status, 'not-installed');
    assert.match('reason' in p.outcome ? p.outcome.reason : '', /not installed/);
  }
  assert.equal(byName.get('wasm')?.outcome.status, 'picked');
  assert.equal(byName.get('cpu')?.outcome.status, 'not-tried');
  assert.ok(rt.info.customKernels.includes('Conv2DBackpropFilter'));
  // Memoised: the same runtime object comes back.
  assert.equal(await loadTf({ prefer: 'auto' }), rt);
});

test('describeBackendChoice agrees with loadTf', async () => {
  const rt = await loadTf({ prefer: 'auto' });
  assert.equal(predicted.backend, rt.backend);
  assert.equal(predicted.backendVersion, rt.info.backendVersion);
  assert.equal(predicted.tfjsVersion, rt.info.tfjsVersion);
  assert.deepEqual(
    predicted.probes.map((p) => [p.backend, p.outcome.status]),
    rt.info.probes.map((p) => [p.backend, p.outcome.status]),
  );
});

test('DAG_BACKEND=cpu is honoured by both functions (fresh process)', () => {
  const script = `
    import { loadTf, describeBackendChoice } from './src/ml/backend.ts';
    const d = describeBackendChoice();
    const rt = await loadTf();
    console.log(JSON.stringify({ predicted: d.backend, source: d.preferenceSource, picked: rt.backend, active: rt.tf.getBackend() }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, DAG_BACKEND: 'cpu' },
    encoding: 'utf8',
  });
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '';
  assert.deepEqual(JSON.parse(line), { predicted: 'cpu', source: 'env', picked: 'cpu', active: 'cpu' });
});

test('a bad preference is a typed error with a stable code', async () => {
  assert.throws(() => parsePreference('cuda', 'DAG_BACKEND'), (e: unknown) => e instanceof BackendError && e.code === 'BACKEND_BAD_PREFERENCE' && /DAG_BACKEND="cuda"/.test(e.message));
  await assert.rejects(loadTf({ prefer: 'cuda' as never }), (e: unknown) => e instanceof BackendError && e.code === 'BACKEND_BAD_PREFERENCE');
});

test('a requested backend that is not installed fails loudly instead of falling back', { skip: nodeInstalled ? 'tfjs-node is installed' : false }, async () => {
  await assert.rejects(loadTf({ prefer: 'tensorflow' }), (e: unknown) => e instanceof BackendError && e.code === 'BACKEND_UNAVAILABLE' && /not installed/.test(e.message));
});

test('CUDA_VISIBLE_DEVICES="" or -1 hides every card', () => {
  const saved = process.env['CUDA_VISIBLE_DEVICES'];
  try {
    for (const v of ['', '-1']) {
      process.env['CUDA_VISIBLE_DEVICES'] = v;
      const g = visibleGpus();
      assert.deepEqual(g.cards, []);
      assert.equal(g.cudaVisibleDevices, v);
      const gpuProbe = describeBackendChoice({ prefer: 'auto' }).probes.find((p) => p.backend === 'tensorflow-gpu');
      assert.ok(gpuProbe && gpuProbe.outcome.status !== 'picked');
    }
  } finally {
    if (saved === undefined) delete process.env['CUDA_VISIBLE_DEVICES'];
    else process.env['CUDA_VISIBLE_DEVICES'] = saved;
  }
});
