/** `dag export [TARGET...] --to DIR [--copy]`: up-to-date outputs under their own names (src/cli/export.ts). */
import { CommandError, defineCommand } from '../../core/command.ts';
import { loadPipelineAndCache, matchTargets } from '../pipeline.ts';

export default defineCommand({
  description:
    'Writes the up-to-date outputs of the targets (no target = every instance) under DIR/<stage>/<axis=value,...>/<file>, ' +
    'as hard links into the store (--copy for copies), with DIR/dag-export.json listing instance -> folder, key and files. ' +
    'Instances that are not up to date are listed, not exported; exit 1 when nothing was exported.',
  pipeline: true,
  args: [{ name: 'TARGET', doc: 'stage name, instance id or partial id', variadic: true }],
  options: [
    { long: 'to', short: 'o', value: 'DIR', doc: 'folder to export into (required)' },
    { long: 'copy', doc: 'copy the files instead of hard-linking them' },
  ],
  examples: ['dag export report --to out/', "dag export 'finetune[dataset=knee]' --to out/ --copy"],
  async run({ args, options, output }) {
    if (typeof options.to !== 'string' || options.to === '') throw new CommandError('dag export needs --to DIR: dag export [TARGET...] --to DIR');
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
    const ids = args.length ? await matchTargets(l.plan, args, 'target') : new Set(l.plan.instances.keys());
    const order = [...l.plan.instances.keys()].filter((id) => ids.has(id));
    const [{ exportOutputs }, { formatBytes }] = await Promise.all([import('../export.ts'), import('../../reporters/format.ts')]);
    return exportOutputs(l, order, { to: options.to, copy: Boolean(options.copy) }, output, { bytes: formatBytes });
  },
});
