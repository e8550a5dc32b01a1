/**
 * Entry of the `dag` command (bin/dag.js): argv in, exit code out. `dag --version` answers
 * here without loading the argument parser; everything else goes through the table of
 * commands (program.ts). Exit codes: 0 ok, 1 a run / check / lookup failed, 2 a usage or
 * configuration error, 130 interrupted.
 */
import type { CommandOutput } from '../core/command.ts';
import { terminalOutput } from './output.ts';
import { packageVersion } from './package-info.ts';

/** Run the CLI with argv (without `node dag`), writing to `output`; resolves with the exit code. */
export async function main(argv: readonly string[], output: CommandOutput = terminalOutput()): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    output.out(`dag ${packageVersion()}`);
    return 0;
  }
  const { runCli } = await import('./program.ts');
  return runCli(argv, output);
}

/** Run as the program: process argv, the terminal, process.exitCode. */
export async function runProcess(): Promise<void> {
  // `dag run --reporter json | head` closes our stdout: keep running, stop writing.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}
