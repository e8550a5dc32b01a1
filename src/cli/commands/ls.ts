/** `dag ls [STAGE...] [--json]`: instances with state, last duration and total output size. */
import { CommandError, defineCommand } from '../../core/command.ts';
import { classifyWithFailure, STATUS_LABEL } from '../instance-state.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

export default defineCommand({
  description: 'Instances (of the given stages, else all) with their state, last duration and total output size; --json for tools.',
  pipeline: true,
  args: [{ name: 'STAGE', doc: 'only instances of these stages', variadic: true }],
  options: [{ long: 'json', doc: 'one JSON array: id, stage, axes, state, durationMs, bytes, outputs, endedAt' }],
  async run({ args, options, output }) {
    const { plan, keys, cache } = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
    const { formatBytes, formatDuration } = await import('../../reporters/format.ts');
    const all = [...plan.instances.keys()];
    const ids = args.length ? all.filter((id) => args.includes(plan.instances.get(id)!.stage)) : all;
    if (args.length && ids.length === 0) throw new CommandError(`no stage named ${args.join(', ')}; stages: ${[...plan.stages.keys()].join(', ')}`);
    const analysis = keys.analyze(ids);
    const rows = ids.map((id) => {
      const e = analysis.get(id)!;
      const c = classifyWithFailure(cache, id, e);
      const idx = e.state === 'cached' ? undefined : cache.readIndex(id);
      const rec = e.state === 'cached' ? e.record : idx ? cache.readRecord(idx.key) : undefined;
      const size = rec ? Object.values(rec.outputs).reduce((a, o) => a + o.size, 0) : 0;
      const inst = plan.instances.get(id)!;
      return { id, stage: inst.stage, axes: inst.axes, state: c.kind, durationMs: rec?.durationMs ?? null, bytes: rec ? size : null, outputs: rec ? Object.keys(rec.outputs).length : null, endedAt: rec?.endedAt ?? null };
    });
    if (options.json) {
      output.out(JSON.stringify(rows, null, 2));
      return 0;
    }
    const w = Math.max(...ids.map((i) => i.length), 8);
    output.out(output.style.bold(`${'instance'.padEnd(w)}  ${'state'.padEnd(13)} ${'ran for'.padStart(7)}  ${'outputs'.padStart(10)}`));
    for (const r of rows) {
      output.out(`${r.id.padEnd(w)}  ${STATUS_LABEL[r.state].padEnd(13)} ${r.durationMs !== null ? `${formatDuration(r.durationMs).padStart(7)}  ${formatBytes(r.bytes ?? 0).padStart(10)}` : ''}`.trimEnd());
    }
    return 0;
  },
});
