/**
 * The WebAssembly SIMD GEMM on the tfjs wasm heap (src/ml/wasm-kernels/gemm.ts) and
 * the convolution paths built on it (conv-gemm.ts, used by conv-grads.ts) equal
 * plain JavaScript / the cpu backend within 1e-4 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf, type Tf } from '../src/ml/backend.ts';
import { backendRunner, relErr, values } from './fixtures/wasm-compare.ts';
import { gemm, gemmKernels, KC, packRowMajor, packStrided } from '../src/ml/wasm-kernels/gemm.ts';

const rt = await loadTf({ prefer: 'wasm' });
const tf: Tf = rt.tf;
const on = backendRunner(tf);
type Tensor = import('@tensorflow/tfjs').Tensor;
type Tensor4D = import('@tensorflow/tfjs').Tensor4D;

interface HeapBackend {
  typedArrayFromHeap(t: { dataId: object; shape: number[]; dtype: string }): Float32Array;
  wasm: { asm: { memory: WebAssembly.Memory } };
}

test('gemm: strided A, ragged m / n, several reduction blocks, overwrite and accumulate', () => {
  const be = tf.backend() as unknown as HeapBackend;
  const memory = be.wasm.asm.memory;
  const kern = gemmKernels(memory);
  assert.ok(kern !== null, 'wasm SIMD kernels compile');
  const at = (t: Tensor): number => be.typedArrayFromHeap(t as never).byteOffset / 4;
  const heap = (): Float32Array => new Float32Array(memory.buffer);
  for (const [m, k, n, transA, transB] of [
    [7, 5, 3, false, false],
    [13, KC + 37, 21, true, false],
    [9, 2 * KC + 3, 16, false, true],
    [4, 8, 8, true, true],
  ] as const) {
    const av = values(m * k, m);
    const bv = values(k * n, n);
    const cv = values(m * n, k);
    const a = tf.tensor1d(av);
    const b = tf.tensor1d(bv);
    for (const accumulate of [false, true]) {
      const c = tf.tensor1d(cv);
      const temps: Tensor[] = [];
      // A(i, kk) = av[i*k + kk] (or, transposed storage, av[kk*m + i]); B likewise.
      const aAt = (i: number, kk: number): number => (transA ? av[kk * m + i]! : av[i * k + kk]!);
      const bAt = (kk: number, j: number): number => (transB ? bv[j * k + kk]! : bv[kk * n + j]!);
      gemm(
        kern,
        {
          m,
          n,
          k,
          a: at(a),
          sai: transA ? 1 : k,
          sak: transA ? m : 1,
          packB: transB ? packStrided(at(b), 1, k, n) : packRowMajor(kern, at(b), n, n),
          c: at(c),
          ldc: n,
          accumulate,
        },
        (floats) => {
          const t = tf.zeros([floats]);
          temps.push(t);
          return at(t);
        },
        heap,
      );
      const want = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = accumulate ? cv[i * n + j]! : 0;
          for (let kk = 0; kk < k; kk++) sum += aAt(i, kk) * bAt(kk, j);
          want[i * n + j] = sum;
        }
      }
      const err = relErr(c.dataSync() as Float32Array, want);
      assert.ok(err < 1e-5, `${m}x${k}x${n} transA=${transA} transB=${transB} accumulate=${accumulate}: ${err}`);
      tf.dispose([c, ...temps]);
    }
    tf.dispose([a, b]);
  }
});

type Shape4 = [number, number, number, number];
// Channel counts that are multiples of 8 take the GEMM paths; >512 output pixels span
// several reduction blocks (KC) of the filter gradient; odd sizes exercise the borders.
const convCases: { x: Shape4; k: number; cout: number; stride: 1 | 2; pad: 'same' | 'valid' }[] = [
  { x: [2, 19, 17, 8], k: 3, cout: 16, stride: 1, pad: 'same' },
  { x: [1, 7, 9, 16], k: 3, cout: 12, stride: 1, pad: 'valid' },
  { x: [2, 9, 9, 8], k: 3, cout: 8, stride: 2, pad: 'same' },
  { x: [2, 5, 6, 24], k: 1, cout: 16, stride: 1, pad: 'valid' },
  { x: [1, 6, 6, 16], k: 1, cout: 8, stride: 2, pad: 'same' },
  { x: [2, 4, 4, 32], k: 3, cout: 40, stride: 1, pad: 'same' },
  // The 3-channel stem: any-channel patch packing (filter) and GEMM + col2im (input).
  { x: [1, 15, 14, 3], k: 7, cout: 8, stride: 2, pad: 'same' },
];

for (const c of convCases) {
  test(`GEMM conv paths match cpu: ${c.k}x${c.k} s${c.stride} ${c.pad} x=${c.x.join('x')} cout=${c.cout}`, async () => {
    const wShape: Shape4 = [c.k, c.k, c.x[3], c.cout];
    const xv = values(c.x.reduce((a, b) => a * b, 1), 11);
    const wv = values(wShape.reduce((a, b) => a * b, 1), 12);
    const bv = values(c.cout, 13);
    const run = (): Tensor[] => {
      const x = tf.tensor4d(xv, c.x);
      const w = tf.tensor4d(wv, wShape);
      const b = tf.tensor1d(bv);
      // Fresh filter: the training-time FusedConv2D path; then both gradients.
      const fwd = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, bias: b, activation: 'relu' });
      const f = (a: Tensor, ww: Tensor): Tensor => {
        const y = tf.fused.conv2d({ x: a as Tensor4D, filter: ww as Tensor4D, strides: c.stride, pad: c.pad, bias: b });
        return y.square().mul(0.5).add(y).sum();
      };
      const [gx, gw] = tf.grads(f)([x, w]);
      tf.dispose([x, w, b]);
      return [fwd, gx!, gw!];
    };
    const got = await on('wasm', run);
    const want = await on('cpu', run);
    ['forward', 'dx', 'dw'].forEach((name, i) => {
      const err = relErr(got[i]!, want[i]!);
      assert.ok(err < 1e-4, `${name}: relative error ${err}`);
    });
  });
}
