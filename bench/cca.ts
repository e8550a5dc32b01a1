/**
 * Benchmark: ccaSimilarity on two 64 x 10,000 float32 activation matrices (the size of one
 * CCA repeat in the study) against a numpy implementation of svcca's get_cca_similarity
 * (np.cov + pinv + eigh + svd, the reference's own numpy calls), measured interleaved in
 * the same run so machine load hits both alike. Prints medians; no assertions.
 *
 *   node --import tsx bench/cca.ts [rounds=21]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeNpy } from '../src/data/npy.ts';
import { ccaSimilarity, createRng, layerCca, type Mat } from '../src/stats/index.ts';

const N = 64;
const M = 10_000;
const rounds = Number(process.argv[2] ?? 21);

// Correlated, ReLU-like activations with a few dead channels, like a real layer.
const rng = createRng(1);
const x = new Float32Array(N * M);
const y = new Float32Array(N * M);
for (let j = 0; j < M; j++) {
  const z = Array.from({ length: 8 }, () => rng.normal());
  for (let i = 0; i < N; i++) {
    const dead = i % 16 === 15;
    const vx = (z[i % 8] as number) + 0.7 * rng.normal();
    const vy = 0.5 * (z[(i * 3) % 8] as number) + rng.normal();
    x[i * M + j] = dead ? 0 : Math.max(0, vx);
    y[i * M + j] = Math.max(0, vy);
  }
}
const X: Mat = { rows: N, cols: M, data: x };
const Y: Mat = { rows: N, cols: M, data: y };

const PY = String.raw`
import sys, time, numpy as np
X = np.load(sys.argv[1]); Y = np.load(sys.argv[2])
def svcca(a1, a2, eps):
    nx = a1.shape[0]
    s = np.cov(a1, a2)
    sxx, sxy, syx, syy = s[:nx, :nx], s[:nx, nx:], s[nx:, :nx], s[nx:, nx:]
    xm, ym = np.max(np.abs(sxx)), np.max(np.abs(syy))
    sxx = sxx / xm; syy = syy / ym; sxy = sxy / np.sqrt(xm * ym)
    kx = np.abs(np.diagonal(sxx)) >= eps; ky = np.abs(np.diagonal(syy)) >= eps
    sxx = sxx[kx][:, kx]; syy = syy[ky][:, ky]; sxy = sxy[kx][:, ky]
    sxx = sxx + eps * np.eye(sxx.shape[0]); syy = syy + eps * np.eye(syy.shape[0])
    def isq(m):
        w, v = np.linalg.eigh(np.linalg.pinv(m)); return np.dot(v, np.dot(np.diag(np.sqrt(w)), v.T))
    ix, iy = isq(sxx), isq(syy)
    u, sv, vt = np.linalg.svd(np.dot(ix, np.dot(sxy, iy)))
    return np.mean(np.abs(sv))
for line in sys.stdin:
    t = time.perf_counter(); r = svcca(X, Y, 1e-12); dt = (time.perf_counter() - t) * 1e3
    print(f"{dt} {float(r)!r}", flush=True)
`;

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cca-'));
  try {
    writeNpy(join(dir, 'x.npy'), x, [N, M]);
    writeNpy(join(dir, 'y.npy'), y, [N, M]);
    const py = spawn('python3', ['-c', PY, join(dir, 'x.npy'), join(dir, 'y.npy')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let pyOk = true;
    py.on('error', () => (pyOk = false));
    const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
    const askPy = async (): Promise<[number, number] | null> => {
      if (!pyOk) return null;
      py.stdin.write('go\n');
      const r = await lines.next();
      if (r.done) return null;
      const [t, v] = String(r.value).split(' ');
      return [Number(t), Number(v)];
    };
    const tsTimes: number[] = [];
    const pyTimes: number[] = [];
    let ours = NaN;
    let theirs = NaN;
    for (let r = 0; r < rounds + 1; r++) {
      const t0 = performance.now();
      ours = ccaSimilarity(X, Y, { epsilon: 1e-12 }).meanAll;
      const dt = performance.now() - t0;
      const p = await askPy();
      if (r === 0) continue; // warm-up (JIT, wasm compile, numpy import)
      tsTimes.push(dt);
      if (p) {
        pyTimes.push(p[0]);
        theirs = p[1];
      }
    }
    py.stdin.end();
    console.log(`ccaSimilarity 64 x ${M} (float32 in, float64 math), ${rounds} rounds interleaved`);
    console.log(`  TypeScript  median ${median(tsTimes).toFixed(1)} ms  (min ${Math.min(...tsTimes).toFixed(1)})  meanAll ${ours}`);
    if (pyTimes.length) {
      console.log(`  numpy svcca median ${median(pyTimes).toFixed(1)} ms  (min ${Math.min(...pyTimes).toFixed(1)})  meanAll ${theirs}`);
      console.log(`  |difference| ${Math.abs(ours - theirs).toExponential(2)}`);
    } else {
      console.log('  numpy baseline skipped (python3 with numpy not available)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  benchLayerCca();
}

/** One full layer comparison as the study runs it: 5 repeats on a block1-like layer (n 200, 28 x 28, 256 channels). */
function benchLayerCca(): void {
  const [n, h, w, c] = [200, 28, 28, 256];
  const a = new Float32Array(n * h * w * c);
  const b = new Float32Array(n * h * w * c);
  for (let i = 0; i < a.length; i++) {
    const z = rng.normal();
    a[i] = Math.max(0, z + 0.5 * rng.normal());
    b[i] = Math.max(0, z + rng.normal());
  }
  const times: number[] = [];
  let mean = NaN;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    mean = layerCca({ data: a, shape: [n, h, w, c] }, { data: b, shape: [n, h, w, c] }, { seed: r }).mean;
    if (r > 0) times.push(performance.now() - t0);
  }
  console.log(`layerCca [${n}, ${h}, ${w}, ${c}] x 2, 5 repeats of 13 images = 10,192 points x 64 channels`);
  console.log(`  TypeScript  median ${median(times).toFixed(1)} ms per layer pair  (mean ${mean.toFixed(4)})`);
}

await main();
