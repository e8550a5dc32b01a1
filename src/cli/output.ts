/**
 * The CLI's output object: the one place that binds commands to the terminal. `terminalOutput`
 * wraps process.stdout / stderr (colour when stdout is a TTY and NO_COLOR is unset, the
 * terminal's width); `bufferOutput` collects text for in-process tests.
 */
import { Writable } from 'node:stream';
import type { CommandOutput, Style, TerminalStream } from '../core/command.ts';

const paint = (on: boolean, code: string) => (s: string): string => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Bold/dim/red/green/yellow, or the identity when `on` is false. */
export function makeStyle(on: boolean): Style {
  return { bold: paint(on, '1'), dim: paint(on, '2'), red: paint(on, '31'), green: paint(on, '32'), yellow: paint(on, '33') };
}

/** An output over two streams. */
export function makeOutput(stdout: TerminalStream, stderr: TerminalStream, color: boolean, width: number): CommandOutput {
  return {
    stdout,
    stderr,
    color,
    width,
    style: makeStyle(color),
    out: (line = '') => void stdout.write(`${line}\n`),
    err: (line = '') => void stderr.write(`${line}\n`),
  };
}

/** The process's terminal. */
export function terminalOutput(env: NodeJS.ProcessEnv = process.env): CommandOutput {
  const color = Boolean(process.stdout.isTTY) && !env.NO_COLOR;
  return makeOutput(process.stdout, process.stderr, color, process.stdout.columns || 80);
}

/** An output into memory (no colour): `text()` returns what was written to each stream. */
export function bufferOutput(width = 80): CommandOutput & { text(): { stdout: string; stderr: string } } {
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const sink = (into: Buffer[]): TerminalStream => {
    return new Writable({
      write(chunk: Buffer | string, _enc, done) {
        into.push(Buffer.from(chunk));
        done();
      },
    });
  };
  const o = makeOutput(sink(chunks.stdout), sink(chunks.stderr), false, width);
  return { ...o, text: () => ({ stdout: Buffer.concat(chunks.stdout).toString('utf8'), stderr: Buffer.concat(chunks.stderr).toString('utf8') }) };
}
