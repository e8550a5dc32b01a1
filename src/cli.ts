/**
 * `dag` command line: argv -> command. This is the only module that prints for humans
 * and sets the exit code (0 ok, 1 a run/verify/lookup failed, 2 configuration or usage
 * error, 130 interrupted). Everything heavier than node built-ins is imported inside
 * the command that needs it, so `dag status` on a warm cache does not pay for the
 * executor, and `dag --version` pays for nothing.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Plan, Instance } from './pipeline/plan.ts';
import type { LocalCache } from './cache/store.ts';
import type { KeyBuilder, StaticEvaluation } from './executor/analyze.ts';

/** A usage or configuration problem: printed without a stack, exit code 2 by default. */
class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

const out = (s = ''): void => void process.stdout.write(`${s}\n`);
const err = (s = ''): void => void process.stderr.write(`${s}\n`);
const useColor = (): boolean => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: string) => (s: string): string => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint('1');
const dim = paint('2');
const red = paint('31');
const green = paint('32');
const yellow = paint('33');

const HELP = `dag — run a pipeline of stages with a content-addressed cache

usage: dag <command> [options]

commands:
  run [TARGET...]          build targets (stage names, instance ids, stage[axis=value]) and
                           whatever upstream is missing; no target = everything
    --only STAGE...        run only these stages' instances, inputs from the cache
    --force STAGE|ID       re-run even if cached (repeatable)
    --dry-run              list what would run and why
    --jobs N               CPU slots (default: available parallelism)
    --gpus N|ID,ID|none    GPU cards (default: CUDA_VISIBLE_DEVICES, else nvidia-smi -L)
    --keep-going           after a failure, keep running independent branches
    --reporter R           pretty | plain | json (default: pretty on a TTY, else plain)
    --executor E           local | slurm (default: the pipeline's executor.type, else local)
  status [--all]           every instance: cached, stale (and what changed) or never run
  ls [STAGE] [--json]      instances with state, duration and output size
  show INSTANCE            run record, key preimage, outputs, device, duration, log tail
  cat INSTANCE OUTPUT      write an output's bytes to stdout
  path INSTANCE OUTPUT     print an output's path in the store
  log INSTANCE             the log of the latest run (or failed attempt)
  metrics [TARGET...] [--json|--csv] [--over AXIS] [--metric NAME]
                           every metrics.json in a table, mean ± sd over folds
  metrics --diff, diff     how metrics moved since each instance's previous run, and why
  export [TARGET...] --to DIR [--copy]
                           outputs under DIR/<stage>/<axis=value,...>/<file> (hard links)
  open INSTANCE [FILE] [--no-open]
                           print a browsable path of FILE (default: the report) and open it
  verify                   re-hash every stored object; exit 1 if any is corrupted
  gc [--dry-run] [--keep-all-versions]
                           delete what the current pipeline no longer references
  graph [--instances] [--format mermaid|dot] [--svg FILE]
  kinds                    stage kinds and their params
  doctor                   check the machine (backends, GPUs)
  weights check ...        check a weights file
  data check ...           check a data set
  help, --version

common options:
  -f, --file FILE          pipeline file (default ./pipeline.yaml)
  --cache DIR              artifact store (default: the pipeline's cache:, else ./cache)
`;

/** Options every pipeline command accepts. */
const COMMON = {
  file: { type: 'string', short: 'f' },
  cache: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\nrun 'dag help' for usage`);
  }
}

interface Loaded {
  plan: Plan;
  cache: LocalCache;
  keys: KeyBuilder;
  warnings: Array<{ code: string; message: string }>;
}

/** Load and validate the pipeline; config errors are printed here and exit 2. */
async function loadPlan(values: { file?: string; cache?: string }, opts: { createCache: boolean; quietWarnings?: boolean }): Promise<Loaded> {
  const file = resolve(values.file ?? 'pipeline.yaml');
  const [{ loadPipeline }, { formatConfigErrors }] = await Promise.all([import('./pipeline/load.ts'), import('./pipeline/errors.ts')]);
  const res = await loadPipeline(file, process.env.DAG_STAGES_DIR ? { stagesDir: resolve(process.env.DAG_STAGES_DIR) } : {});
  if (!res.ok) {
    err(formatConfigErrors(res.errors));
    throw new CliError('', 2);
  }
  if (res.warnings.length && !opts.quietWarnings) err(yellow(formatConfigErrors(res.warnings)));
  const plan = res.plan;
  if (values.cache) plan.cacheDir = resolve(values.cache);
  const [{ LocalCache }, { KeyBuilder }] = await Promise.all([import('./cache/store.ts'), import('./executor/analyze.ts')]);
  let cache: LocalCache;
  try {
    cache = new LocalCache(plan.cacheDir, { create: opts.createCache });
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  return { plan, cache, keys: new KeyBuilder(plan, cache), warnings: res.warnings };
}

/** Instances matched by targets (stage names, ids, `stage[axis=value]`); unknown ones are usage errors. */
async function matchTargets(plan: Plan, targets: string[], what: string): Promise<Set<string>> {
  const { resolveTarget, UnknownTargetError } = await import('./graph/select.ts');
  const ids = new Set<string>();
  const bad: string[] = [];
  for (const t of targets) {
    try {
      for (const id of resolveTarget(plan, t)) ids.add(id);
    } catch (e) {
      if (!(e instanceof UnknownTargetError)) throw e;
      bad.push(`${what}: ${e.message}`);
    }
  }
  if (bad.length) throw new CliError(bad.join('\n'));
  return ids;
}

/** Exactly one instance for show / log / cat / path. */
async function oneInstance(plan: Plan, target: string | undefined): Promise<string> {
  if (!target) throw new CliError('expected an instance id (see `dag ls`)');
  if (plan.instances.has(target)) return target;
  const ids = [...(await matchTargets(plan, [target], 'instance'))];
  if (ids.length === 1) return ids[0]!;
  throw new CliError(`'${target}' matches ${ids.length} instances; name one:\n${ids.slice(0, 20).map((i) => `  ${i}`).join('\n')}`);
}

/** `a, b, c` or `a, b and 28 more` so long dependency lists stay one readable line. */
function listIds(ids: readonly string[], max = 3): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max - 1).join(', ')} and ${ids.length - max + 1} more`;
}

// ---------------------------------------------------------------- run

async function cmdRun(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    only: { type: 'boolean' },
    force: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    gpus: { type: 'string' },
    'keep-going': { type: 'boolean', short: 'k' },
    reporter: { type: 'string' },
    executor: { type: 'string' },
  });
  const { isReporterName, createReporter } = await import('./report/reporter.ts');
  const { isExecutorName, executorName, createExecutor, EXECUTOR_NAMES } = await import('./executor/choose.ts');
  if (values.executor !== undefined && !isExecutorName(values.executor)) throw new CliError(`--executor ${values.executor}: expected ${EXECUTOR_NAMES.join(' or ')}`);
  const reporterName = values.reporter ?? (process.stdout.isTTY ? 'pretty' : 'plain');
  if (!isReporterName(reporterName)) throw new CliError(`--reporter ${reporterName}: expected pretty, plain or json`);
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new CliError(`--jobs ${values.jobs}: expected a whole number >= 1`);
  }
  const { detectGpus, parseGpuFlag } = await import('./executor/gpus.ts');
  if (values.gpus !== undefined) {
    try {
      parseGpuFlag(values.gpus);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }
  if (values.only && positionals.length === 0) throw new CliError('--only needs at least one stage: dag run --only STAGE...');

  const { plan, cache, keys } = await loadPlan(values, { createCache: true });
  let selected: Set<string>;
  if (values.only) {
    selected = await matchTargets(plan, positionals, 'stage');
  } else if (positionals.length) {
    await matchTargets(plan, positionals, 'target'); // names every unknown target at once
    const { selectWithUpstream } = await import('./graph/select.ts');
    selected = selectWithUpstream(plan, positionals);
  } else {
    selected = new Set(plan.instances.keys());
  }
  const forced = values.force?.length ? await matchTargets(plan, values.force, '--force') : new Set<string>();
  // Pin the code identity of every kind now, next to when this process chose its code (the
  // compiled build of the sources as they were at start): an edit during a long run must not
  // label results of the old code with the new code's digest.
  for (const kind of new Set([...selected].map((id) => plan.instances.get(id)!.kind))) keys.codeIdentity(kind);
  const { checkOnlyInputs, runPlan } = await import('./executor/scheduler.ts');

  if (values.only) {
    const problems = checkOnlyInputs(keys, selected);
    if (problems.length) {
      err(red(`dag run --only: ${problems.length} input${problems.length === 1 ? ' is' : 's are'} not in the cache or stale; nothing was run:`));
      for (const p of problems) err(`  ${p.id} (needed by ${p.neededBy}): ${p.reason}`);
      err(`build them first with: dag run ${[...new Set(problems.map((p) => plan.instances.get(p.id)!.stage))].join(' ')}`);
      return 1;
    }
  }

  if (values['dry-run']) return dryRun(plan, keys, selected, forced);

  const reporter = createReporter(reporterName, process.stdout);
  // Keys of the selection's sinks (reports live there), to name the report at the end.
  const upstreamOfSelected = new Set([...selected].flatMap((id) => plan.instances.get(id)!.deps));
  const sinkKeys = new Map<string, string>();
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130); // second Ctrl-C: leave now (the cache stays consistent)
    err(yellow(`\n${sig}: stopping workers (Ctrl-C again to quit at once)`));
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const slots = jobs ?? (await import('node:os')).availableParallelism();
    const gpus = (): string[] => detectGpus(values.gpus).ids;
    const executor = await createExecutor(executorName(values.executor as Parameters<typeof executorName>[0], plan), { plan, cache, jobs: slots, gpus, signal: controller.signal });
    const res = await runPlan({
      plan,
      cache,
      keys,
      selected,
      forced,
      executor,
      jobs: slots,
      gpus,
      keepGoing: values['keep-going'] ?? false,
      emit: (e) => {
        if ((e.type === 'done' || e.type === 'cached') && !upstreamOfSelected.has(e.id)) sinkKeys.set(e.id, e.key);
        reporter.handle(e);
      },
      signal: controller.signal,
    });
    reporter.close();
    if (res.interrupted) return 130;
    if (reporterName !== 'json') {
      const { reportPaths } = await import('./cli/export.ts');
      for (const p of reportPaths(cache, sinkKeys)) out(`report: ${p}`);
    }
    return res.counts.failed > 0 || res.counts.skipped > 0 ? 1 : 0;
  } finally {
    reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function dryRun(plan: Plan, keys: KeyBuilder, selected: Set<string>, forced: Set<string>): Promise<number> {
  const { formatReason } = await import('./executor/events.ts');
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
        out(`${green('would run')}  ${id}  ${dim(`(${formatReason(e.reason)})`)}`);
        break;
      case 'blocked':
        maybe++;
        out(`${yellow('would run')}  ${id}  ${dim(`(after upstream ${listIds(e.on)}; skipped if its outputs come out unchanged)`)}`);
        break;
      case 'missing-input':
        refused++;
        out(`${red('refused  ')}  ${id}  ${dim(`(${e.message})`)}`);
        break;
      default: {
        const never: never = e;
        throw new Error(`unhandled ${JSON.stringify(never)}`);
      }
    }
  }
  out(`dry run: ${run} would run, ${maybe} would run unless cut off early, ${cached} cached${refused ? `, ${refused} refused` : ''}; nothing was executed`);
  return 0;
}

// ---------------------------------------------------------------- status / ls

type StatusKind = 'cached' | 'stale' | 'failed' | 'never' | 'waiting' | 'missing' | 'corrupted';

/**
 * Like `classify`, but an instance whose last attempt at its current key failed is
 * `failed` (with the error), not "never run" / stale.
 */
function classifyWithFailure(cache: LocalCache, id: string, e: StaticEvaluation): { kind: StatusKind; detail: string } {
  const c = classify(e);
  if (e.state !== 'run' || (c.kind !== 'never' && c.kind !== 'stale')) return c;
  const f = cache.readFailure(id);
  if (!f || f.key !== e.key) return c;
  return { kind: 'failed', detail: `${f.error.code}: ${f.error.message} (${f.endedAt}; dag log '${id}')` };
}

function classify(e: StaticEvaluation): { kind: StatusKind; detail: string } {
  switch (e.state) {
    case 'cached':
      return { kind: 'cached', detail: '' };
    case 'missing-input':
      return { kind: 'missing', detail: e.message };
    case 'blocked':
      return e.previous
        ? { kind: 'stale', detail: `upstream must re-run first: ${listIds(e.on)} (may be cut off early if its outputs do not change)` }
        : { kind: 'never', detail: '' };
    case 'run':
      switch (e.reason.kind) {
        case 'never-run':
          return { kind: 'never', detail: 'never run' };
        case 'corrupted':
          return { kind: 'corrupted', detail: `output corrupted: ${e.reason.details.join(', ')}` };
        case 'changed':
        case 'forced':
          return { kind: 'stale', detail: e.reason.details.join('; ') || 'changed' };
        default: {
          const never: never = e.reason.kind;
          throw new Error(`unhandled ${String(never)}`);
        }
      }
    default: {
      const never: never = e;
      throw new Error(`unhandled ${JSON.stringify(never)}`);
    }
  }
}

const STATUS_ORDER: StatusKind[] = ['cached', 'stale', 'failed', 'corrupted', 'never', 'waiting', 'missing'];
const STATUS_LABEL: Record<StatusKind, string> = {
  cached: 'cached',
  stale: 'stale',
  failed: 'failed',
  corrupted: 'corrupted',
  never: 'never run',
  waiting: 'waiting',
  missing: 'missing input',
};

async function cmdStatus(argv: string[]): Promise<number> {
  const { values } = parse(argv, { all: { type: 'boolean', short: 'a' }, json: { type: 'boolean' } });
  const { plan, keys, cache } = await loadPlan(values, { createCache: false });
  const ids = [...plan.instances.keys()];
  const analysis = keys.analyze(ids);
  const rows = ids.map((id) => ({ id, stage: plan.instances.get(id)!.stage, ...classifyWithFailure(cache, id, analysis.get(id)!) }));
  // Problems the kinds can see before anything runs (a data set too small for the study).
  const { runPreflights } = await import('./cli/preflight.ts');
  const preflight = await runPreflights(plan);
  if (values.json) {
    for (const r of rows) {
      const mine = preflight.filter((w) => w.id === r.id).map((w) => w.message);
      out(JSON.stringify(mine.length ? { ...r, preflight: mine } : r));
    }
    return 0;
  }
  const perStage = new Map<string, Record<StatusKind, number>>();
  for (const r of rows) {
    const c = perStage.get(r.stage) ?? { cached: 0, stale: 0, failed: 0, never: 0, waiting: 0, missing: 0, corrupted: 0 };
    c[r.kind]++;
    perStage.set(r.stage, c);
  }
  const total: Record<StatusKind, number> = { cached: 0, stale: 0, failed: 0, never: 0, waiting: 0, missing: 0, corrupted: 0 };
  for (const r of rows) total[r.kind]++;
  const cols = STATUS_ORDER.filter((k) => total[k] > 0 || k === 'cached' || k === 'stale' || k === 'never');
  const nameW = Math.max(5, ...[...perStage.keys()].map((s) => s.length));
  out(bold(`${plan.file}: ${rows.length} instances — ${cols.map((k) => `${total[k]} ${STATUS_LABEL[k]}`).join(', ')}`));
  out();
  out(`${'stage'.padEnd(nameW)}  ${cols.map((k) => STATUS_LABEL[k].padStart(9)).join(' ')}`);
  for (const [stage, c] of perStage) {
    out(`${stage.padEnd(nameW)}  ${cols.map((k) => String(c[k] || '·').padStart(9)).join(' ')}`);
  }
  if (preflight.length) {
    out();
    out(yellow(`warnings before running (${preflight.length}):`));
    for (const w of preflight) out(`  ${w.id}: ${w.message}`);
  }
  const limit = values.all ? Infinity : 10;
  for (const k of STATUS_ORDER) {
    if (k === 'cached' && !values.all) continue;
    const list = rows.filter((r) => r.kind === k);
    if (!list.length) continue;
    out();
    const color = k === 'cached' ? green : k === 'never' ? dim : k === 'missing' || k === 'corrupted' || k === 'failed' ? red : yellow;
    out(color(`${STATUS_LABEL[k]} (${list.length}):`));
    for (const r of list.slice(0, limit)) out(`  ${r.id}${r.detail && r.detail !== 'never run' ? `\n      ${dim(r.detail)}` : ''}`);
    if (list.length > limit) out(dim(`  … and ${list.length - limit} more (dag status --all)`));
  }
  return 0;
}

async function cmdLs(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  const { plan, keys, cache } = await loadPlan(values, { createCache: false, quietWarnings: true });
  const { formatBytes, formatDuration } = await import('./report/format.ts');
  const ids = positionals.length ? [...plan.instances.keys()].filter((id) => positionals.includes(plan.instances.get(id)!.stage)) : [...plan.instances.keys()];
  if (positionals.length && ids.length === 0) throw new CliError(`no stage named ${positionals.join(', ')}; stages: ${[...plan.stages.keys()].join(', ')}`);
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
  if (values.json) {
    out(JSON.stringify(rows, null, 2));
    return 0;
  }
  const w = Math.max(...ids.map((i) => i.length), 8);
  out(bold(`${'instance'.padEnd(w)}  ${'state'.padEnd(13)} ${'ran for'.padStart(7)}  ${'outputs'.padStart(10)}`));
  for (const r of rows) {
    out(`${r.id.padEnd(w)}  ${STATUS_LABEL[r.state].padEnd(13)} ${r.durationMs !== null ? `${formatDuration(r.durationMs).padStart(7)}  ${formatBytes(r.bytes ?? 0).padStart(10)}` : ''}`.trimEnd());
  }
  return 0;
}

// ---------------------------------------------------------------- show / cat / path / log

async function latestRecord(l: Loaded, id: string) {
  const e = l.keys.analyze([id]).get(id)!;
  if (e.state === 'cached') return { record: e.record, current: true, evaluation: e };
  const idx = l.cache.readIndex(id);
  const record = idx ? l.cache.readRecord(idx.key) : undefined;
  return { record, current: false, evaluation: e };
}

async function cmdShow(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const id = await oneInstance(l.plan, positionals[0]);
  const inst: Instance = l.plan.instances.get(id)!;
  const { formatBytes, formatDuration, formatDevice } = await import('./report/format.ts');
  const { record, evaluation } = await latestRecord(l, id);
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
}

async function outputOf(argv: string[]): Promise<{ path: string }> {
  const { values, positionals } = parse(argv, {});
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const id = await oneInstance(l.plan, positionals[0]);
  const name = positionals[1];
  const { record, current } = await latestRecord(l, id);
  if (!record) throw new CliError(`${id} has no completed run; dag run '${id}'`, 1);
  if (!name) throw new CliError(`name an output of ${id}: ${Object.keys(record.outputs).join(', ')}`);
  const o = record.outputs[name];
  if (!o) throw new CliError(`${id} has no output '${name}'; outputs: ${Object.keys(record.outputs).join(', ')}`, 1);
  if (!current) err(yellow(`note: ${id} is not up to date; this is the output of its latest run (${record.endedAt})`));
  const file = l.cache.objectPath(o.digest);
  if (!l.cache.stat.objectMatches(file, o.digest)) throw new CliError(`${file} is corrupted or missing (digest mismatch); dag run '${id}' rebuilds it`, 1);
  l.cache.stat.save();
  return { path: file };
}

async function cmdPath(argv: string[]): Promise<number> {
  out((await outputOf(argv)).path);
  return 0;
}

async function cmdCat(argv: string[]): Promise<number> {
  const { path } = await outputOf(argv);
  const { createReadStream } = await import('node:fs');
  await new Promise<void>((res, rej) => {
    const s = createReadStream(path);
    s.on('error', rej);
    s.on('end', () => res());
    s.pipe(process.stdout, { end: false });
  });
  return 0;
}

async function cmdLog(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const id = await oneInstance(l.plan, positionals[0]);
  const idx = l.cache.readIndex(id);
  const record = idx ? l.cache.readRecord(idx.key) : undefined;
  const failure = l.cache.readFailure(id);
  if (failure && (!record || failure.endedAt > record.endedAt)) {
    err(dim(`# failed attempt ${failure.startedAt} (${failure.error.code}: ${failure.error.message})`));
    process.stdout.write(failure.log);
    if (failure.error.stack) process.stdout.write(`${failure.error.stack}\n`);
    return 0;
  }
  if (!record) throw new CliError(`${id} has never run`, 1);
  err(dim(`# run ${record.startedAt} on ${record.host}`));
  process.stdout.write(record.log ? (l.cache.readText(record.log) ?? '(log object missing)\n') : '(empty log)\n');
  return 0;
}

// ---------------------------------------------------------------- verify / gc

async function cmdVerify(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const { formatBytes } = await import('./report/format.ts');
  if (!l.cache.layout.exists()) {
    out(`no cache at ${l.cache.dir} yet: nothing to verify`);
    return 0;
  }
  const res = l.cache.verify();
  if (res.problems.length === 0) {
    out(green(`ok: ${res.checked} objects (${formatBytes(res.bytes)}) match their digests`));
    return 0;
  }
  for (const p of res.problems) {
    out(red(`${p.problem === 'digest' ? 'CORRUPTED' : 'MISSING  '} ${p.object}`) + (p.usedBy.length ? dim(`  used by ${p.usedBy.join(', ')}`) : dim('  (unreferenced)')));
  }
  out(`${res.problems.length} problem${res.problems.length === 1 ? '' : 's'} in ${res.checked} objects; the next dag run re-runs the producers`);
  return 1;
}

async function cmdGc(argv: string[]): Promise<number> {
  const { values } = parse(argv, { 'dry-run': { type: 'boolean', short: 'n' }, 'keep-all-versions': { type: 'boolean' } });
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const { formatBytes } = await import('./report/format.ts');
  if (!l.cache.layout.exists()) {
    out(`no cache at ${l.cache.dir} yet: nothing to collect`);
    return 0;
  }
  const { readLock, ownerAlive } = await import('./cache/lock.ts');
  const { readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  for (const n of readdirSync(l.cache.layout.locks)) {
    const held = readLock(join(l.cache.layout.locks, n));
    if (held && ownerAlive(held.owner)) throw new CliError(`a dag run (pid ${held.owner.pid} on ${held.owner.host}) is using this cache; run gc when it is done`, 1);
  }
  const keepIds = new Set(l.plan.instances.keys());
  const keepKeys = new Set<string>();
  for (const id of keepIds) {
    const idx = l.cache.readIndex(id);
    if (idx) keepKeys.add(idx.key);
  }
  // Instances whose key cannot be computed yet (an upstream must run first) keep their work dirs.
  const pendingIds = new Set<string>();
  for (const [id, e] of l.keys.analyze(keepIds)) {
    if (e.state === 'cached' || e.state === 'run') keepKeys.add(e.key);
    else pendingIds.add(id);
  }
  if (values['keep-all-versions']) for (const r of l.cache.allRecords()) if (keepIds.has(r.id)) keepKeys.add(r.key);
  const res = l.cache.gc(keepKeys, keepIds, { dryRun: values['dry-run'] ?? false, pendingIds });
  out(
    `${values['dry-run'] ? 'would remove' : 'removed'} ${res.removedObjects} objects, ${res.removedRecords} run records, ${res.removedOther} other entries: ${formatBytes(res.bytes)} ${values['dry-run'] ? 'reclaimable' : 'reclaimed'}`,
  );
  return 0;
}

// ---------------------------------------------------------------- export / open

async function cmdExport(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { to: { type: 'string', short: 'o' }, copy: { type: 'boolean' } });
  if (!values.to) throw new CliError('dag export needs --to DIR: dag export [TARGET...] --to DIR');
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const ids = positionals.length ? [...(await matchTargets(l.plan, positionals, 'target'))] : [...l.plan.instances.keys()];
  const order = [...l.plan.instances.keys()].filter((id) => ids.includes(id));
  const [{ exportOutputs }, { formatBytes }] = await Promise.all([import('./cli/export.ts'), import('./report/format.ts')]);
  return exportOutputs(l, order, { to: values.to, copy: values.copy ?? false }, { out, err }, { bytes: formatBytes });
}

async function cmdOpen(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { 'no-open': { type: 'boolean' } });
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const id = await oneInstance(l.plan, positionals[0]);
  const { openOutput } = await import('./cli/export.ts');
  return openOutput(l, id, positionals[1], { open: !values['no-open'] }, { out, err });
}

async function cmdMetrics(argv: string[], diff = false): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    csv: { type: 'boolean' },
    diff: { type: 'boolean' },
    over: { type: 'string' },
    metric: { type: 'string', multiple: true },
  });
  if (values.json && values.csv) throw new CliError('--json and --csv: choose one');
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  const picked = positionals.length ? await matchTargets(l.plan, positionals, 'target') : undefined;
  const ids = [...l.plan.instances.keys()].filter((id) => !picked || picked.has(id));
  const format = values.json ? 'json' : values.csv ? 'csv' : 'table';
  const { showMetrics, diffMetrics } = await import('./cli/metrics.ts');
  if (diff || values.diff) return diffMetrics(l, ids, { format, only: values.metric ?? [] }, { out, err });
  return showMetrics(l, ids, { format, over: values.over ?? 'fold', only: values.metric ?? [] }, { out, err });
}

// ---------------------------------------------------------------- graph / kinds

async function cmdGraph(argv: string[]): Promise<number> {
  const { values } = parse(argv, { instances: { type: 'boolean' }, format: { type: 'string' }, svg: { type: 'string' } });
  const format = values.format ?? 'mermaid';
  if (format !== 'mermaid' && format !== 'dot') throw new CliError(`--format ${format}: expected mermaid or dot`);
  const l = await loadPlan(values, { createCache: false, quietWarnings: true });
  if (values.svg !== undefined) {
    if (values.svg === '') throw new CliError('--svg needs a file name: dag graph --svg graph.svg');
    const ids = [...l.plan.instances.keys()];
    const analysis = l.keys.analyze(ids);
    const states = new Map(ids.map((id) => {
      const k = classifyWithFailure(l.cache, id, analysis.get(id)!).kind;
      return [id, k === 'cached' ? 'cached' : k === 'failed' || k === 'missing' || k === 'corrupted' ? 'failed' : k === 'stale' ? 'stale' : 'never'] as const;
    }));
    const { toSvg } = await import('./graph/svg.ts');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(values.svg, toSvg(l.plan, values.instances ? 'instance' : 'stage', states));
    out(resolve(values.svg));
    return 0;
  }
  let mod: { toMermaid?: (p: Plan, level: 'stage' | 'instance') => string; toDot?: (p: Plan, level: 'stage' | 'instance') => string };
  try {
    mod = await import('./graph/render.ts');
  } catch {
    throw new CliError('dag graph is not available in this build (src/graph/render.ts is missing)', 1);
  }
  const fn = format === 'dot' ? mod.toDot : mod.toMermaid;
  if (!fn) throw new CliError(`dag graph --format ${format} is not available in this build`, 1);
  out(fn(l.plan, values.instances ? 'instance' : 'stage'));
  return 0;
}

async function cmdKinds(argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  const { existsSync } = await import('node:fs');
  const file = resolve(values.file ?? 'pipeline.yaml');
  let kinds: Map<string, { kind: { kind: string; doc: string; params: Record<string, { type: string; doc: string; default?: unknown; required?: boolean }> }; file: string }>;
  if (existsSync(file)) {
    kinds = (await loadPlan(values, { createCache: false, quietWarnings: true })).plan.kinds;
  } else {
    const { loadStageKinds } = await import('./pipeline/kinds.ts');
    const res = await loadStageKinds(process.env.DAG_STAGES_DIR ? { stagesDir: resolve(process.env.DAG_STAGES_DIR) } : {});
    kinds = res.kinds;
  }
  for (const { kind } of [...kinds.values()].sort((a, b) => a.kind.kind.localeCompare(b.kind.kind))) {
    out(bold(kind.kind));
    out(`  ${kind.doc}`);
    for (const [name, spec] of Object.entries(kind.params)) {
      const def = spec.default !== undefined ? ` = ${JSON.stringify(spec.default)}` : spec.required ? ' (required)' : '';
      out(`    ${name}: ${spec.type}${def}  ${dim(spec.doc)}`);
    }
    out();
  }
  return 0;
}

// ---------------------------------------------------------------- other engineers' commands

async function delegate(load: () => Promise<unknown>, modulePath: string, label: string, argv: string[]): Promise<number> {
  // A literal import() per command, so the compiled build rewrites it to the .js module.
  let mod: { main?: (argv: string[]) => Promise<number> };
  try {
    mod = (await load()) as typeof mod;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const base = modulePath.replace(/^.*\//, '').replace(/\.ts$/, '');
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(base)) {
      throw new CliError(`dag ${label} is not available in this build (${modulePath.replace('./', 'src/')} is missing)`, 1);
    }
    throw e;
  }
  if (typeof mod.main !== 'function') throw new CliError(`dag ${label} is not available in this build (no main export)`, 1);
  return mod.main(argv);
}

// ---------------------------------------------------------------- dispatch

/** Run the CLI with argv (without `node dag`); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  // `dag run --reporter json | head` closes our stdout: keep running, stop writing.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(HELP);
        return 0;
      case '--version':
      case '-V':
      case 'version': {
        const pkg = JSON.parse(readFileSync(join((await import('./core/modules.ts')).PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
        out(`dag ${pkg.version}`);
        return 0;
      }
      case 'run':
        return await cmdRun(rest);
      case 'status':
        return await cmdStatus(rest);
      case 'ls':
        return await cmdLs(rest);
      case 'show':
        return await cmdShow(rest);
      case 'cat':
        return await cmdCat(rest);
      case 'path':
        return await cmdPath(rest);
      case 'log':
        return await cmdLog(rest);
      case 'verify':
        return await cmdVerify(rest);
      case 'gc':
        return await cmdGc(rest);
      case 'graph':
        return await cmdGraph(rest);
      case 'metrics':
        return await cmdMetrics(rest);
      case 'diff':
        return await cmdMetrics(rest, true);
      case 'export':
        return await cmdExport(rest);
      case 'open':
        return await cmdOpen(rest);
      case 'kinds':
        return await cmdKinds(rest);
      case 'doctor':
        return await delegate(() => import('./ml/doctor.ts'), './ml/doctor.ts', 'doctor', rest);
      case 'weights':
        return await delegate(() => import('./ml/weights-command.ts'), './ml/weights-command.ts', 'weights', rest);
      case 'data':
        return await delegate(() => import('./data/check-command.ts'), './data/check-command.ts', 'data', rest);
      default: {
        const { didYouMean } = await import('./pipeline/suggest.ts');
        const cmds = ['run', 'status', 'ls', 'show', 'cat', 'path', 'log', 'export', 'open', 'metrics', 'diff', 'verify', 'gc', 'graph', 'kinds', 'doctor', 'weights', 'data', 'help'];
        throw new CliError(`unknown command '${cmd}'${didYouMean(cmd, cmds)}; run 'dag help'`);
      }
    }
  } catch (e) {
    if (e instanceof CliError) {
      if (e.message) err(red(e.message));
      return e.exitCode;
    }
    const code = (e as { code?: unknown }).code;
    if (e instanceof Error && (e.name === 'GpuFlagError' || e.name === 'CacheVersionError') && typeof code === 'string') {
      err(red(`${code}: ${e.message}`));
      return 2;
    }
    throw e;
  }
}

// Only run when executed as the program (bin/dag.js imports this module for its side effect).
const code = await main(process.argv.slice(2));
process.exitCode = code;
