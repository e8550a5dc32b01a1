/** `dag log INSTANCE`: the log of the latest run, or of the last failed attempt if that is newer. */
import { CommandError, defineCommand } from '../../core/command.ts';
import { loadPipelineAndCache, oneInstance } from '../pipeline.ts';

export default defineCommand({
  description: "The log of the instance's latest run, or of its last failed attempt if that is newer (stdout, console output and ctx.log/ctx.warn lines).",
  pipeline: true,
  args: [{ name: 'INSTANCE', doc: 'instance id (or a partial id matching exactly one)', required: true }],
  async run({ args, options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true, keys: false });
    const id = await oneInstance(l.plan, args[0]);
    const { dim } = output.style;
    const idx = l.cache.readIndex(id);
    const record = idx ? l.cache.readRecord(idx.key) : undefined;
    const failure = l.cache.readFailure(id);
    if (failure && (!record || failure.endedAt > record.endedAt)) {
      output.err(dim(`# failed attempt ${failure.startedAt} (${failure.error.code}: ${failure.error.message})`));
      output.stdout.write(failure.log);
      if (failure.error.stack) output.stdout.write(`${failure.error.stack}\n`);
      return 0;
    }
    if (!record) throw new CommandError(`${id} has never run`, 1);
    output.err(dim(`# run ${record.startedAt} on ${record.host}`));
    output.stdout.write(record.log ? (l.cache.readText(record.log) ?? '(log object missing)\n') : '(empty log)\n');
    return 0;
  },
});
