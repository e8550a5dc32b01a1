/**
 * The table of `dag` commands: name, one-line summary, and the module (a path from the
 * package root) that default-exports its `CommandSpec`. A module is imported only when its
 * command, or its help, is asked for, so `dag --version` and `dag status` load nothing
 * else. Engine commands live in src/cli/commands/; study-side ones in the top-level
 * commands/ folder (they may import the study, which the engine must not).
 *
 * Adding a command: write its module and add one line here (docs/engine.md, "Adding a command").
 */

/** One row of the table. */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  /** Module path relative to the package root. */
  readonly module: string;
}

/** Every command, in the order `dag help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'run', summary: 'build targets and whatever upstream is missing or stale (no target = everything)', module: 'src/cli/commands/run.ts' },
  { name: 'status', summary: 'every instance: cached, stale (and what changed) or never run', module: 'src/cli/commands/status.ts' },
  { name: 'ls', summary: 'instances with state, duration and output size', module: 'src/cli/commands/ls.ts' },
  { name: 'show', summary: 'run record, key preimage, outputs, device, duration, log tail', module: 'src/cli/commands/show.ts' },
  { name: 'cat', summary: "write an output's bytes to stdout", module: 'src/cli/commands/cat.ts' },
  { name: 'path', summary: "print an output's path in the store", module: 'src/cli/commands/path.ts' },
  { name: 'log', summary: 'the log of the latest run (or failed attempt)', module: 'src/cli/commands/log.ts' },
  { name: 'metrics', summary: 'every metrics.json in a table, mean ± sd over folds', module: 'src/cli/commands/metrics.ts' },
  { name: 'diff', summary: "how metrics moved since each instance's previous run, and why", module: 'src/cli/commands/diff.ts' },
  { name: 'export', summary: 'outputs under DIR/<stage>/<axis=value,...>/<file> (hard links)', module: 'src/cli/commands/export.ts' },
  { name: 'open', summary: 'print a browsable path of an output (default: the report) and open it', module: 'src/cli/commands/open.ts' },
  { name: 'verify', summary: 're-hash every stored object; exit 1 if any is corrupted', module: 'src/cli/commands/verify.ts' },
  { name: 'gc', summary: 'delete what the current pipeline no longer references', module: 'src/cli/commands/gc.ts' },
  { name: 'graph', summary: 'the stage (or instance) graph as mermaid or dot, or an SVG file', module: 'src/cli/commands/graph.ts' },
  { name: 'kinds', summary: 'stage kinds and their params', module: 'src/cli/commands/kinds.ts' },
  { name: 'doctor', summary: 'check the machine: tensor backend, GPUs, why not a better backend', module: 'commands/doctor.ts' },
  { name: 'weights', summary: 'check or list a Keras weights file', module: 'commands/weights.ts' },
  { name: 'data', summary: 'check a data set download without running anything', module: 'commands/data.ts' },
  { name: 'help', summary: "a command's usage and options", module: 'src/cli/commands/help.ts' },
  { name: 'version', summary: "print dag's version (also --version, -V)", module: 'src/cli/commands/version.ts' },
];
