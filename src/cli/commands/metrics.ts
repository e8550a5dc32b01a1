/** `dag metrics [TARGET...]`: every metrics.json in a table, mean ± sd over folds (src/cli/metrics.ts). */
import { CommandError, defineCommand, type CommandCall } from '../../core/command.ts';
import { loadPipelineAndCache, matchTargets } from '../pipeline.ts';

/** Shared by `dag metrics` and `dag diff` (= `dag metrics --diff`). */
export async function metricsCommand({ args, options, output }: CommandCall, diff: boolean): Promise<number> {
  if (options.json && options.csv) throw new CommandError('--json and --csv: choose one');
  const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
  const picked = args.length ? await matchTargets(l.plan, args, 'target') : undefined;
  const ids = [...l.plan.instances.keys()].filter((id) => !picked || picked.has(id));
  const format = options.json ? 'json' : options.csv ? 'csv' : 'table';
  const only = (options.metric as string[] | undefined) ?? [];
  const { showMetrics, diffMetrics } = await import('../metrics.ts');
  if (diff || options.diff) return diffMetrics(l, ids, { format, only }, output);
  return showMetrics(l, ids, { format, over: typeof options.over === 'string' ? options.over : 'fold', only }, output);
}

/** Options of both commands. */
export const METRICS_OPTIONS = [
  { long: 'json', doc: 'JSON instead of a table' },
  { long: 'csv', doc: 'CSV instead of a table' },
  { long: 'metric', value: 'NAME', repeatable: true, doc: 'only this metric (repeatable)' },
] as const;

export default defineCommand({
  description:
    'Reads the metrics.json output of every up-to-date instance of the targets (no target = all) and prints one row per ' +
    'instance, then mean ± sd over the --over axis (default fold). --diff: how metrics moved since the previous run, and why.',
  pipeline: true,
  args: [{ name: 'TARGET', doc: 'stage name, instance id or partial id', variadic: true }],
  options: [
    ...METRICS_OPTIONS,
    { long: 'over', value: 'AXIS', doc: 'axis to average over (default fold)' },
    { long: 'diff', doc: 'how metrics moved since each instance’s previous run (= dag diff)' },
  ],
  examples: ['dag metrics finetune', 'dag metrics --csv > metrics.csv', 'dag metrics --diff'],
  run: (call) => metricsCommand(call, false),
});
