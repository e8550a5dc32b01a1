/** What `dag cat` and `dag path` share: finding one stored output of an instance, checked against its digest. */
import { CommandError, type CommandCall, type CommandSpec } from '../core/command.ts';
import { latestRecord, loadPipelineAndCache, oneInstance } from './pipeline.ts';

/** The arguments both commands take. */
export const OUTPUT_ARGS: CommandSpec['args'] = [
  { name: 'INSTANCE', doc: 'instance id (or a partial id matching exactly one)', required: true },
  { name: 'OUTPUT', doc: 'output path inside the instance (omit to list them)' },
];

/** The store path of the named output; a stale instance serves its latest run (said on stderr). */
export async function storedOutput({ args, options, output }: CommandCall): Promise<string> {
  const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
  const id = await oneInstance(l.plan, args[0]);
  const name = args[1];
  const { record, current } = latestRecord(l, id);
  if (!record) throw new CommandError(`${id} has no completed run; dag run '${id}'`, 1);
  if (!name) throw new CommandError(`name an output of ${id}: ${Object.keys(record.outputs).join(', ')}`);
  const o = record.outputs[name];
  if (!o) throw new CommandError(`${id} has no output '${name}'; outputs: ${Object.keys(record.outputs).join(', ')}`, 1);
  if (!current) output.err(output.style.yellow(`note: ${id} is not up to date; this is the output of its latest run (${record.endedAt})`));
  const file = l.cache.objectPath(o.digest);
  if (!l.cache.stat.objectMatches(file, o.digest)) throw new CommandError(`${file} is corrupted or missing (digest mismatch); dag run '${id}' rebuilds it`, 1);
  return file;
}
