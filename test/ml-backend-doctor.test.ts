/** `dag doctor` (src/ml/doctor.ts): reports the backend actually initialised and why better ones were not used. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doctorReport, formatDoctor } from '../src/ml/doctor.ts';
import { main } from '../src/cli/main.ts';
import { bufferOutput } from '../src/cli/output.ts';
import { describeBackendChoice } from '../src/ml/backend.ts';

test('doctor initialises the predicted backend, self-checks it and explains every candidate', async () => {
  const r = await doctorReport();
  const predicted = describeBackendChoice();
  assert.equal(r.ok, true);
  assert.equal(r.backend, predicted.backend);
  assert.equal(r.selfCheck?.ok, true, r.selfCheck?.detail);
  assert.equal(r.info?.probes.length, 4);
  const text = formatDoctor(r);
  assert.match(text, new RegExp(`^backend +${r.backend} `, 'm'));
  assert.match(text, /^tfjs +\d+\.\d+\.\d+/m);
  assert.match(text, /CUDA_VISIBLE_DEVICES/);
  for (const p of r.info!.probes) assert.match(text, new RegExp(`^  ${p.backend} `, 'm'));
  if (r.backend === 'wasm') assert.match(text, /SIMD (on|off), threads \d+/);
});

test('doctor rejects unknown options and bad backends with exit code 2', async () => {
  const output = bufferOutput();
  assert.equal(await main(['doctor', '--frobnicate'], output), 2);
  assert.equal(await main(['doctor', '--backend', 'cuda'], output), 2);
  assert.match(output.text().stderr, /unknown option '--frobnicate'[\s\S]*argument 'cuda' is invalid/);
});
