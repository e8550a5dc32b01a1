/**
 * The table of commands (table.ts) turned into a commander program: commander parses argv,
 * rejects unknown options, unknown commands and stray arguments with a did-you-mean, and
 * renders every help; this module loads only the command modules argv names, runs the one
 * chosen with the injected output, and maps every failure to a message and an exit code.
 *
 * Commander is used as a parser only: the action of a command just records what was parsed,
 * and the command runs after parsing, so `--help` anywhere on the line prints help and runs
 * nothing.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CommandError, type CommandArgument, type CommandCall, type CommandOption, type CommandOutput, type CommandSpec } from '../core/command.ts';
import { closest } from '../core/suggest.ts';
import { describeFsFailure, isFsFailure } from '../cache/fs-errors.ts';
import { PACKAGE_ROOT, packageVersion } from './package-info.ts';
import { loadInstanceViews } from './pipeline.ts';
import { COMMANDS, type CommandEntry } from './table.ts';

/** Commander stopped parsing (help shown, version shown, or a usage error) in `command`. */
class ParseStop extends Error {
  constructor(
    readonly stop: CommanderError,
    readonly command: Command,
  ) {
    super(stop.message);
  }
}

/** What parsing chose to run. */
interface Chosen {
  spec: CommandSpec;
  args: string[];
  options: Record<string, unknown>;
  rest: string[];
}

/** Import a command's module and return its spec; a module absent from this build is exit 1. */
export async function loadCommand(entry: CommandEntry): Promise<CommandSpec> {
  const url = new URL(entry.module, PACKAGE_ROOT).href;
  let mod: { default?: CommandSpec };
  try {
    mod = (await import(url)) as { default?: CommandSpec };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(entry.module)) {
      throw new CommandError(`dag ${entry.name} is not available in this build (${entry.module} is missing)`, 1);
    }
    throw e;
  }
  const spec = mod.default;
  if (!spec || typeof spec !== 'object' || (typeof spec.run !== 'function' && !spec.subcommands)) {
    throw new Error(`${entry.module} does not default-export a command (defineCommand({... run }))`);
  }
  return spec;
}

/** The specs of the table commands named in `names` (others are ignored). */
async function loadSpecs(names: readonly (string | undefined)[]): Promise<Map<string, CommandSpec>> {
  const specs = new Map<string, CommandSpec>();
  for (const name of names) {
    const entry = COMMANDS.find((c) => c.name === name);
    if (entry && !specs.has(entry.name)) specs.set(entry.name, await loadCommand(entry));
  }
  return specs;
}

/** The commands argv needs loaded: its first word, and after `help` the command asked about. */
function commandsNamed(argv: readonly string[]): (string | undefined)[] {
  return argv[0] === 'help' ? [argv[0], argv[1]] : [argv[0]];
}

/** Settings every command of the program has (commander copies most of them to subcommands). */
function setUp(cmd: Command, output: CommandOutput): Command {
  return cmd
    .exitOverride((e) => {
      throw new ParseStop(e, cmd);
    })
    .configureOutput({
      writeOut: (s) => void output.stdout.write(s),
      writeErr: (s) => void output.stderr.write(s),
      outputError: () => {}, // printed by runCli, with hints
      getOutHelpWidth: () => output.width,
      getErrHelpWidth: () => output.width,
      getOutHasColors: () => output.color,
      getErrHasColors: () => output.color,
    })
    .showSuggestionAfterError(true)
    .helpOption('-h, --help', 'show this help');
}

/** A commander option from a declared one. */
function toOption(o: CommandOption): Option {
  const opt = new Option(`${o.short ? `-${o.short}, ` : ''}--${o.long}${o.value ? ` <${o.value}>` : ''}`, o.doc);
  if (o.choices) opt.choices(o.choices);
  else if (o.parse || o.repeatable) {
    opt.argParser((raw: string, previous: unknown) => {
      let value: unknown = raw;
      if (o.parse) {
        try {
          value = o.parse(raw);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      }
      return o.repeatable ? [...(Array.isArray(previous) ? previous : []), value] : value;
    });
  }
  return opt;
}

/** `<NAME>`, `[NAME]`, `[NAME...]` for the usage line. */
function argTerm(a: CommandArgument): string {
  const name = `${a.name}${a.variadic ? '...' : ''}`;
  return a.required ? `<${name}>` : `[${name}]`;
}

/** The options every command that reads the pipeline takes (`-f`, and `--cache` unless file-only). */
function pipelineOptions(kind: CommandSpec['pipeline']): Option[] {
  if (!kind) return [];
  const file = new Option('-f, --file <FILE>', 'pipeline file (default ./pipeline.yaml)');
  return kind === 'file-only' ? [file] : [file, new Option('--cache <DIR>', "artifact store (default: the pipeline's cache:, else <pipeline dir>/cache)")];
}

/** Declare a spec's arguments, options, subcommands and help on a commander command. */
function configure(cmd: Command, spec: CommandSpec, output: CommandOutput, chosen: { value?: Chosen }): void {
  cmd.description(spec.description);
  for (const o of spec.options ?? []) cmd.addOption(toOption(o));
  for (const o of pipelineOptions(spec.pipeline)) cmd.addOption(o);
  if (spec.passThrough) {
    // Its own parser reads the rest; the arguments are only documented.
    cmd.allowUnknownOption().allowExcessArguments();
    cmd.usage(['[options]', ...(spec.args ?? []).map(argTerm)].join(' '));
    if (spec.args?.length) cmd.addHelpText('after', `\nArguments:\n${spec.args.map((a) => `  ${a.name.padEnd(18)} ${a.doc}`).join('\n')}`);
  } else {
    for (const a of spec.args ?? []) cmd.argument(argTerm(a), a.doc);
  }
  if (spec.examples?.length) cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join('\n')}`);
  for (const [name, sub] of Object.entries(spec.subcommands ?? {})) {
    const c = setUp(cmd.command(name).summary(sub.summary), output);
    configure(c, sub, output, chosen);
  }
  if (spec.run) {
    cmd.action(() => {
      const args = cmd.processedArgs.flat().filter((a): a is string => typeof a === 'string');
      chosen.value = { spec, args: spec.passThrough ? [] : args, options: { ...cmd.opts() }, rest: spec.passThrough ? [...cmd.args] : [] };
    });
  }
}

/** The program with every command of the table; those in `specs` are fully declared, the others only named. */
function buildProgram(output: CommandOutput, specs: ReadonlyMap<string, CommandSpec>, chosen: { value?: Chosen }): Command {
  const program = setUp(new Command('dag'), output)
    .description('dag: run a pipeline of stages with a content-addressed cache')
    .usage('<command> [options]')
    .version(`dag ${packageVersion()}`, '-V, --version', "print dag's version")
    .helpCommand(false)
    .addHelpText(
      'after',
      [
        '',
        "dag help COMMAND (or dag COMMAND --help) shows a command's arguments and options.",
        'Commands that read the pipeline take -f, --file FILE (default ./pipeline.yaml) and --cache DIR.',
        'Exit codes: 0 ok, 1 a run/check/lookup failed, 2 usage or configuration error, 130 interrupted.',
      ].join('\n'),
    );
  for (const entry of COMMANDS) {
    const cmd = setUp(program.command(entry.name).summary(entry.summary), output);
    const spec = specs.get(entry.name);
    if (spec) configure(cmd, spec, output, chosen);
  }
  return program;
}

/** `dag weights check` for a commander command (without the program name). */
function pathOf(cmd: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

/** Message for a stray positional: which one, and the option or subcommand it may have meant. */
function strayArgumentMessage(cmd: Command): string {
  const stray = cmd.args[cmd.registeredArguments.length] ?? cmd.args[cmd.args.length - 1] ?? '';
  const longs = cmd.options.map((o) => o.long?.replace(/^--/, '')).filter((l): l is string => Boolean(l));
  const exact = longs.includes(stray) ? stray : undefined;
  const near = exact ?? closest(stray, longs);
  const where = `dag ${pathOf(cmd).join(' ')}`;
  const expected = cmd.registeredArguments.length === 0 ? 'it takes no arguments' : `it takes ${cmd.registeredArguments.map((a) => a.name()).join(', ')}`;
  return `error: unexpected argument '${stray}' for '${where}' (${expected})${near ? `\n(Did you mean --${near}?)` : ''}`;
}

/** Print a parse stop or command failure; the exit code. Unexpected errors (bugs) are rethrown. */
function reportFailure(e: unknown, output: CommandOutput, argv: readonly string[]): number {
  const { red } = output.style;
  if (e instanceof ParseStop) {
    const { code, exitCode } = e.stop;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (code === 'commander.help') {
      if (exitCode === 0) return 0;
      // Help was printed (to stderr) because a subcommand is missing.
      output.err(red(`error: 'dag ${pathOf(e.command).join(' ')}' needs a subcommand: ${e.command.commands.map((c) => c.name()).join(', ')}`));
      return 2;
    }
    const message = code === 'commander.excessArguments' ? strayArgumentMessage(e.command) : e.message;
    output.err(red(message));
    output.err(`run 'dag ${[...pathOf(e.command), '--help'].join(' ')}' for usage`);
    return 2;
  }
  if (e instanceof CommandError) {
    if (e.message) output.err(red(e.message));
    return e.exitCode;
  }
  const code = (e as { code?: unknown }).code;
  if (e instanceof Error && (e.name === 'GpuFlagError' || e.name === 'CacheVersionError') && typeof code === 'string') {
    output.err(red(`${code}: ${e.message}`));
    return 2;
  }
  // A full disk or a permission problem anywhere else: one located line, no stack trace.
  if (isFsFailure(e)) {
    const f = describeFsFailure(e, `dag ${argv.find((a) => !a.startsWith('-')) ?? ''}`.trim());
    output.err(red(`${f.code}: ${f.message}`));
    return 1;
  }
  throw e;
}

/** Parse argv against the table and run the chosen command; resolves with the exit code. */
export async function runCli(argv: readonly string[], output: CommandOutput): Promise<number> {
  try {
    const chosen: { value?: Chosen } = {};
    const program = buildProgram(output, await loadSpecs(commandsNamed(argv)), chosen);
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync([...argv], { from: 'user' });
    const c = chosen.value;
    if (!c?.spec.run) return 0;
    const call: CommandCall = { args: c.args, options: c.options, rest: c.rest, output, loadInstances: (file) => loadInstanceViews(file, output) };
    return await c.spec.run(call);
  } catch (e) {
    return reportFailure(e, output, argv);
  }
}

/** `dag help [COMMAND...]`: print the help of that command (or subcommand), or of the program. */
export async function printHelp(path: readonly string[], output: CommandOutput): Promise<void> {
  const program = buildProgram(output, await loadSpecs(path.slice(0, 1)), {});
  let cmd = program;
  for (const [i, name] of path.entries()) {
    const next = cmd.commands.find((c) => c.name() === name);
    if (!next) {
      const near = closest(name, cmd.commands.map((c) => c.name()));
      const known = cmd.commands.map((c) => c.name()).join(', ');
      throw new CommandError(`unknown command '${path.slice(0, i + 1).join(' ')}'${near ? `; did you mean '${[...path.slice(0, i), near].join(' ')}'?` : `; commands: ${known}`}`);
    }
    cmd = next;
  }
  cmd.outputHelp();
}
