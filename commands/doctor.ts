/**
 * `dag doctor`: initialise the tensor backend this machine would use, self-check it and
 * explain the choice (src/ml/doctor.ts). Exit status 0 ok, 1 no working backend, 2 usage.
 */
import { defineCommand, wholeNumber } from '../src/core/command.ts';
import { BACKEND_ORDER, type BackendPreference } from '../src/ml/backend.ts';

export default defineCommand({
  description:
    'Initialises the TensorFlow.js backend this machine would use and explains the choice: backend and tfjs versions, ' +
    'wasm SIMD/threads, visible CUDA cards, why each better backend was not picked, a conv-gradient self-check and the machine. ' +
    'Exit status 0 ok, 1 no working backend.',
  options: [
    { long: 'json', doc: 'the report as one JSON object' },
    { long: 'backend', value: 'B', choices: ['auto', ...BACKEND_ORDER], doc: 'backend to try (default: DAG_BACKEND, else auto)' },
    { long: 'threads', value: 'N', doc: 'wasm threads', parse: wholeNumber(1) },
  ],
  async run({ options, output }) {
    const { doctorReport, formatDoctor } = await import('../src/ml/doctor.ts');
    const report = await doctorReport({
      ...(options.backend !== undefined ? { prefer: options.backend as BackendPreference } : {}),
      ...(options.threads !== undefined ? { threads: options.threads as number } : {}),
    });
    output.out(options.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
    return report.ok ? 0 : 1;
  },
});
