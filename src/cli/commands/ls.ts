/** `dag ls [STAGE...]`: instances with state, last duration and total output size. */
import { CommandError, defineCommand } from '../../core/command.ts';
import { classify, STATUS_LABEL } from '../instance-state.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

export default defineCommand({
  description: 'Instances (of the given stages, else all) with their state, last duration and total output size.',
  pipeline: true,
  args: [{ name: 'STAGE', doc: 'only instances of these stages', variadic: true }],
  async run({ args, options, output }) {
    const { plan, keys, cache } = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
    const { formatBytes, formatDuration } = await import('../../reporters/format.ts');
    const all = [...plan.instances.keys()];
    const ids = args.length ? all.filter((id) => args.includes(plan.instances.get(id)!.stage)) : all;
    if (args.length && ids.length === 0) throw new CommandError(`no stage named ${args.join(', ')}; stages: ${[...plan.stages.keys()].join(', ')}`);
    const analysis = keys.analyze(ids);
    const w = Math.max(...ids.map((i) => i.length), 8);
    for (const id of ids) {
      const e = analysis.get(id)!;
      const c = classify(e);
      const idx = e.state === 'cached' ? undefined : cache.readIndex(id);
      const rec = e.state === 'cached' ? e.record : idx ? cache.readRecord(idx.key) : undefined;
      const size = rec ? Object.values(rec.outputs).reduce((a, o) => a + o.size, 0) : 0;
      output.out(`${id.padEnd(w)}  ${STATUS_LABEL[c.kind].padEnd(13)} ${rec ? `${formatDuration(rec.durationMs).padStart(7)}  ${formatBytes(size).padStart(10)}` : ''}`);
    }
    return 0;
  },
});
