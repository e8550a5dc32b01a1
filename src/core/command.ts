/**
 * The shape of a `dag` command, shared by the CLI (src/cli), which parses argv and owns the
 * terminal, and the command modules: the engine's (src/cli/commands/) and the study's
 * (top-level commands/). Part of the ground floor: imports nothing of ours and no parser, so
 * a study-side command can be declared without touching the engine.
 *
 * A command module default-exports a `CommandSpec`; the CLI's table (src/cli/table.ts) names
 * each module by path and loads it only when that command (or its help) is asked for.
 */

/** A stream a command may write raw bytes to (stdout for `dag cat`, the live reporter). */
export type TerminalStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** ANSI styling that is the identity when colour is off. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

/**
 * Where a command writes. The CLI injects the terminal (process.stdout / stderr, colour
 * when stdout is a TTY and NO_COLOR is unset, the terminal width); tests inject buffers.
 * Commands never touch process.stdout themselves.
 */
export interface CommandOutput {
  readonly stdout: TerminalStream;
  readonly stderr: TerminalStream;
  /** Whether `style` paints. */
  readonly color: boolean;
  /** Columns of the terminal (80 when not a terminal). */
  readonly width: number;
  readonly style: Style;
  /** One line to stdout (a newline is added). */
  out(line?: string): void;
  /** One line to stderr (a newline is added). */
  err(line?: string): void;
}

/** An option of a command, declared without reference to any argument parser. */
export interface CommandOption {
  /** Long name without dashes (`dry-run`); the parsed value is under its camelCase key (`dryRun`). */
  readonly long: string;
  /** One-letter alias without the dash (`n`). */
  readonly short?: string;
  /** Placeholder of the value (`N`); absent for a boolean flag. */
  readonly value?: string;
  /** May be given several times; the value is then an array. */
  readonly repeatable?: boolean;
  /** The only values accepted (checked by the CLI, exit 2 otherwise). */
  readonly choices?: readonly string[];
  /** One line for the help. */
  readonly doc: string;
  /**
   * Turns the text given into the value; throw an Error whose message says what is expected
   * to reject it (the CLI prints it and exits 2). Without it the value stays a string.
   */
  readonly parse?: (raw: string) => unknown;
}

/** A positional argument of a command (used for the usage line and argument checks). */
export interface CommandArgument {
  /** Upper-case placeholder: `INSTANCE`, `TARGET`. */
  readonly name: string;
  readonly doc: string;
  readonly required?: boolean;
  /** Takes every remaining positional (last argument only). */
  readonly variadic?: boolean;
}

/** What the CLI hands a command's `run`. */
export interface CommandCall {
  /** Positional arguments, in order (a variadic argument's values are spread). */
  readonly args: readonly string[];
  /** Option values by camelCase name; absent options are undefined. */
  readonly options: Readonly<Record<string, unknown>>;
  /** With `passThrough`: the tokens the parser did not recognise, in order. */
  readonly rest: readonly string[];
  readonly output: CommandOutput;
  /**
   * The instances of the pipeline file `file` (resolved against the working directory);
   * configuration errors are printed by the CLI and end the command with exit 2. For
   * study-side commands that need a pipeline without importing the engine.
   */
  loadInstances(file: string): Promise<readonly PipelineInstanceView[]>;
}

/** What a study-side command may read of a pipeline's instances. */
export interface PipelineInstanceView {
  readonly id: string;
  readonly stage: string;
  readonly kind: string;
  readonly axes: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, unknown>>;
  /** Ids of the instances this one reads (plan order is topological). */
  readonly deps: readonly string[];
}

/** A command (or a subcommand such as `weights check`). */
export interface CommandSpec {
  /** Paragraph printed under the usage line of `dag CMD --help`. */
  readonly description: string;
  readonly args?: readonly CommandArgument[];
  readonly options?: readonly CommandOption[];
  /** Accepts `-f/--file` and `--cache` (the options of every command that reads the pipeline). */
  readonly pipeline?: boolean | 'file-only';
  /**
   * Unrecognised options and extra positionals are handed to `run` in `call.rest` instead of
   * being rejected (`dag data check --<param> VALUE`); `args` then only documents them.
   */
  readonly passThrough?: boolean;
  /** Lines shown under "Examples:" in the help. */
  readonly examples?: readonly string[];
  /** Subcommands by name (`weights check`, `weights ls`); a command has these or `run`. */
  readonly subcommands?: Readonly<Record<string, CommandSpec & { readonly summary: string }>>;
  /** Does the work; resolves with the exit code (0 ok, 1 failed / found problems, 2 usage). */
  run?(call: CommandCall): Promise<number>;
}

/**
 * A problem the command reports and stops on: the CLI prints the message (no stack) and exits
 * with `exitCode` (2, a usage or configuration error, unless said otherwise).
 */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Declares a command module's default export (type-checks the spec, returns it unchanged). */
export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}

/** An option parser accepting whole numbers >= `min` (`-j 0` -> "expected a whole number >= 1"). */
export function wholeNumber(min: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`expected a whole number >= ${min}`);
    return n;
  };
}
