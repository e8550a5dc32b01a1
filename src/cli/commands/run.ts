/** `dag run [TARGET...]`: build targets and whatever upstream is missing or stale. */
import { CommandError, defineCommand, wholeNumber, type CommandOutput } from '../../core/command.ts';
import { EXECUTOR_NAMES, type ExecutorName } from '../../executor/choose.ts';
import { parseGpuFlag } from '../../executor/gpus.ts';
import type { Plan } from '../../core/plan.ts';
import type { KeyBuilder } from '../../executor/analyze.ts';
import { listIds, loadPipelineAndCache, matchTargets } from '../pipeline.ts';

export default defineCommand({
  description:
    'Builds the targets and whatever upstream is missing or stale; no target = every instance. A target is a stage ' +
    "name, an instance id or a partial id ('finetune[dataset=knee]'); quote ids in the shell.",
  pipeline: true,
  args: [{ name: 'TARGET', doc: 'stage name, instance id or partial id (with --only: stages)', variadic: true }],
  options: [
    { long: 'only', doc: "run only these stages' instances, every input taken from the cache" },
    { long: 'force', value: 'STAGE|ID', repeatable: true, doc: 're-run even if cached (repeatable)' },
    { long: 'dry-run', short: 'n', doc: 'list what would run and why; execute nothing' },
    { long: 'jobs', short: 'j', value: 'N', doc: 'CPU slots (default: available parallelism)', parse: wholeNumber(1) },
    {
      long: 'gpus',
      value: 'N|ID,ID|none',
      doc: 'GPU cards (default: CUDA_VISIBLE_DEVICES, else nvidia-smi -L)',
      parse: (raw) => {
        try {
          parseGpuFlag(raw);
        } catch (e) {
          throw new Error((e as Error).message.replace(/^--gpus "[^"]*": /, '')); // the CLI names the option and value
        }
        return raw;
      },
    },
    { long: 'keep-going', short: 'k', doc: 'after a failure, keep running independent branches' },
    { long: 'reporter', value: 'R', choices: ['pretty', 'plain', 'json'], doc: 'live view, plain lines or NDJSON events (default: pretty on a TTY, else plain)' },
    { long: 'executor', value: 'E', choices: EXECUTOR_NAMES, doc: "where instances run: worker processes here, or Slurm jobs (default: the pipeline's executor.type, else local)" },
  ],
  examples: ['dag run', "dag run cca 'finetune[dataset=knee]'", 'dag run --only cca', 'dag run -n', 'dag run -j 4 --gpus 0,2 --reporter json', 'dag run --executor slurm'],
  async run({ args, options, output }) {
    const targets = [...args];
    const gpus = options.gpus as string | undefined;
    const reporterName = (options.reporter as 'pretty' | 'plain' | 'json' | undefined) ?? (output.stdout.isTTY ? 'pretty' : 'plain');
    if (options.only && targets.length === 0) throw new CommandError('--only needs at least one stage: dag run --only STAGE...');

    const { plan, cache, keys } = await loadPipelineAndCache(options, output, { createCache: true });
    let selected: Set<string>;
    if (options.only) {
      selected = await matchTargets(plan, targets, 'stage');
    } else if (targets.length) {
      await matchTargets(plan, targets, 'target'); // names every unknown target at once
      const { selectWithUpstream } = await import('../../graph/select.ts');
      selected = selectWithUpstream(plan, targets);
    } else {
      selected = new Set(plan.instances.keys());
    }
    const force = (options.force as string[] | undefined) ?? [];
    const forced = force.length ? await matchTargets(plan, force, '--force') : new Set<string>();
    const { preflight } = await import('../../executor/preflight.ts');
    const preProblems = preflight({ plan, selected, ...(gpus !== undefined ? { gpuFlag: { value: gpus, ids: parseGpuFlag(gpus) } } : {}) });
    if (preProblems.length) throw new CommandError(`nothing was run: ${preProblems.length} problem${preProblems.length === 1 ? '' : 's'} found before starting:\n${preProblems.map((p) => `  ${p}`).join('\n')}`);
    const { checkOnlyInputs, runPlan } = await import('../../executor/scheduler.ts');
    const { red, yellow } = output.style;

    if (options.only) {
      const problems = checkOnlyInputs(keys, selected);
      if (problems.length) {
        output.err(red(`dag run --only: ${problems.length} input${problems.length === 1 ? ' is' : 's are'} not in the cache or stale; nothing was run:`));
        for (const p of problems) output.err(`  ${p.id} (needed by ${p.neededBy}): ${p.reason}`);
        output.err(`build them first with: dag run ${[...new Set(problems.map((p) => plan.instances.get(p.id)!.stage))].join(' ')}`);
        return 1;
      }
    }

    if (options.dryRun) return dryRun(plan, keys, selected, forced, output);

    const [{ createReporter }, { detectGpus }, { availableParallelism }, { createExecutor, executorName }] = await Promise.all([
      import('../../reporters/reporter.ts'),
      import('../../executor/gpus.ts'),
      import('node:os'),
      import('../../executor/choose.ts'),
    ]);
    const reporter = createReporter(reporterName, output.stdout);
    // Keys of the selection's sinks (reports live there), to name the report at the end.
    const upstreamOfSelected = new Set([...selected].flatMap((id) => plan.instances.get(id)!.deps));
    const sinkKeys = new Map<string, string>();
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) process.exit(130); // second Ctrl-C: leave now (the cache stays consistent)
      output.err(yellow(`\n${sig}: stopping workers (Ctrl-C again to quit at once)`));
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const slots = (options.jobs as number | undefined) ?? availableParallelism();
      const cards = (): string[] => detectGpus(gpus).ids;
      const executor = await createExecutor(executorName(options.executor as ExecutorName | undefined, plan), { plan, cache, jobs: slots, gpus: cards, signal: controller.signal });
      const res = await runPlan({
        plan,
        cache,
        keys,
        selected,
        forced,
        executor,
        jobs: slots,
        gpus: cards,
        keepGoing: Boolean(options.keepGoing),
        emit: (e) => {
          if ((e.type === 'done' || e.type === 'cached') && !upstreamOfSelected.has(e.id)) sinkKeys.set(e.id, e.key);
          reporter.handle(e);
        },
        signal: controller.signal,
      });
      reporter.close();
      if (res.interrupted) return 130;
      if (reporterName !== 'json') {
        const { reportPaths } = await import('../export.ts');
        for (const p of reportPaths(cache, sinkKeys)) output.out(`report: ${p}`);
      }
      return res.counts.failed > 0 || res.counts.skipped > 0 ? 1 : 0;
    } finally {
      reporter.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
});

/** `--dry-run`: one line per instance that would run (or be refused), then the counts. */
async function dryRun(plan: Plan, keys: KeyBuilder, selected: Set<string>, forced: Set<string>, output: CommandOutput): Promise<number> {
  const { formatReason } = await import('../../executor/events.ts');
  const { green, yellow, red, dim } = output.style;
  const ordered = [...plan.instances.keys()].filter((id) => selected.has(id));
  const analysis = keys.analyze(ordered, forced);
  let run = 0;
  let cached = 0;
  let maybe = 0;
  let refused = 0;
  for (const id of ordered) {
    const e = analysis.get(id)!;
    switch (e.state) {
      case 'cached':
        cached++;
        break;
      case 'run':
        run++;
        output.out(`${green('would run')}  ${id}  ${dim(`(${formatReason(e.reason)})`)}`);
        break;
      case 'blocked':
        maybe++;
        output.out(`${yellow('would run')}  ${id}  ${dim(`(after upstream ${listIds(e.on)}; skipped if its outputs come out unchanged)`)}`);
        break;
      case 'missing-input':
        refused++;
        output.out(`${red('refused  ')}  ${id}  ${dim(`(${e.message})`)}`);
        break;
      default: {
        const never: never = e;
        throw new Error(`unhandled ${JSON.stringify(never)}`);
      }
    }
  }
  output.out(`dry run: ${run} would run, ${maybe} would run unless cut off early, ${cached} cached${refused ? `, ${refused} refused` : ''}; nothing was executed`);
  return 0;
}
