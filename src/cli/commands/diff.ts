/** `dag diff [TARGET...]`: how metrics moved since each instance's previous run, and why (= `dag metrics --diff`). */
import { defineCommand } from '../../core/command.ts';
import { METRICS_OPTIONS, metricsCommand } from './metrics.ts';

export default defineCommand({
  description:
    "For each instance with a metrics.json, its metrics against the instance's previous run and what changed in its key " +
    '(param, code, input) between the two. Same as dag metrics --diff.',
  pipeline: true,
  args: [{ name: 'TARGET', doc: 'stage name, instance id or partial id', variadic: true }],
  options: [...METRICS_OPTIONS],
  examples: ['dag diff', 'dag diff finetune --metric val_acc'],
  run: (call) => metricsCommand(call, true),
});
