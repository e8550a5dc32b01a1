/** `dag show INSTANCE`: run record, key preimage, outputs, device, duration, log tail. */
import { defineCommand } from '../../core/command.ts';
import { classifyWithFailure, STATUS_LABEL } from '../instance-state.ts';
import { latestRecord, loadPipelineAndCache, oneInstance } from '../pipeline.ts';

export default defineCommand({
  description:
    'Stage/kind, status, resources, key, device, start/duration/host/pid, outputs with sizes and store paths, warnings, ' +
    'the full key preimage, the last 10 log lines, and the last failed attempt if newer. A partial id must match one instance.',
  pipeline: true,
  args: [{ name: 'INSTANCE', doc: 'instance id (or a partial id matching exactly one)', required: true }],
  async run({ args, options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
    const id = await oneInstance(l.plan, args[0]);
    const inst = l.plan.instances.get(id)!;
    const { formatBytes, formatDuration, formatDevice } = await import('../../reporters/format.ts');
    const { bold, red } = output.style;
    const out = output.out;
    const { record, evaluation } = latestRecord(l, id);
    const status = classifyWithFailure(l.cache, id, evaluation);
    out(bold(id));
    out(`  stage      ${inst.stage} (kind ${inst.kind})`);
    out(`  status     ${STATUS_LABEL[status.kind]}${status.detail && status.kind !== 'cached' ? `: ${status.detail}` : ''}`);
    out(`  resources  gpu ${inst.resources.gpu}, cpu ${inst.resources.cpu}${inst.resources.memoryMb ? `, ~${inst.resources.memoryMb} MiB` : ''}`);
    const failure = l.cache.readFailure(id);
    if (!record) {
      out('  never completed');
    } else {
      out(`  key        ${record.key}`);
      out(`  device     ${formatDevice(record.device)}`);
      out(`  ran        ${record.startedAt} for ${formatDuration(record.durationMs)} on ${record.host} (pid ${record.pid})`);
      out('  outputs');
      const w = Math.max(...Object.keys(record.outputs).map((p) => p.length), 4);
      for (const [p, o] of Object.entries(record.outputs)) out(`    ${p.padEnd(w)}  ${formatBytes(o.size).padStart(10)}  ${l.cache.objectPath(o.digest)}`);
      if (record.warnings.length) {
        out('  warnings');
        for (const w2 of record.warnings) out(`    ${w2}`);
      }
      out('  key preimage');
      out(JSON.stringify(record.preimage, null, 2).split('\n').map((s) => `    ${s}`).join('\n'));
      const log = record.log ? l.cache.readText(record.log) : undefined;
      if (log) {
        const lines = log.trimEnd().split('\n');
        out(`  log (last ${Math.min(10, lines.length)} of ${lines.length} lines; dag log for all)`);
        for (const s of lines.slice(-10)) out(`    ${s}`);
      }
    }
    if (failure && (!record || failure.endedAt > record.endedAt)) {
      out(red(`  last attempt failed ${failure.endedAt}: ${failure.error.code}: ${failure.error.message}`));
    }
    return 0;
  },
});
