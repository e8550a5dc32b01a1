/** `dag open INSTANCE [FILE] [--no-open]`: a browsable path of an output (default: the report), opened on the desktop. */
import { defineCommand } from '../../core/command.ts';
import { loadPipelineAndCache, oneInstance } from '../pipeline.ts';

export default defineCommand({
  description:
    "Prints a path of FILE (default: the instance's report, its top-level .html output) under its own name, and opens it " +
    'with the desktop opener when there is one (--no-open: print only).',
  pipeline: true,
  args: [
    { name: 'INSTANCE', doc: 'instance id (or a partial id matching exactly one)', required: true },
    { name: 'FILE', doc: 'output path (default: the report)' },
  ],
  options: [{ long: 'no-open', doc: 'print the path only' }],
  examples: ['dag open report', "dag open 'finetune[dataset=knee,fold=0]' history.csv --no-open"],
  async run({ args, options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
    const id = await oneInstance(l.plan, args[0]);
    const { openOutput } = await import('../export.ts');
    // commander turns --no-open into open: false.
    const open = options.noOpen !== true && options.open !== false;
    return openOutput(l, id, args[1], { open }, output);
  },
});
