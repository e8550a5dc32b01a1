/**
 * The CLI as a table of commands, through the real CLI (child processes): `dag CMD --help`
 * works for every command of the table and every subcommand (iterating the table, so a new
 * command is covered without editing this file) and touches nothing; usage errors exit 2
 * with a did-you-mean.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../src/cli/main.ts';
import { bufferOutput } from '../src/cli/output.ts';
import { loadCommand } from '../src/cli/program.ts';
import { COMMANDS } from '../src/cli/table.ts';
import { Project, type CliResult } from './fixtures/kinds/_rig.ts';

const p = new Project(`stages:
  a:
    uses: echo
    matrix: { x: [1, 2] }
    params: { output: "\${x}" }
`);

/** Every command path of the table: `run`, ..., `weights check`, `weights ls`, `data check`. */
async function commandPaths(): Promise<string[][]> {
  const paths: string[][] = [];
  for (const entry of COMMANDS) {
    paths.push([entry.name]);
    for (const sub of Object.keys((await loadCommand(entry)).subcommands ?? {})) paths.push([entry.name, sub]);
  }
  return paths;
}

/** Run CLI invocations a few at a time. */
async function runAll(argvs: string[][]): Promise<CliResult[]> {
  const results: CliResult[] = new Array(argvs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < argvs.length; i = next++) results[i] = await p.run(argvs[i]!);
  };
  await Promise.all([worker(), worker(), worker()]);
  return results;
}

test('dag CMD --help: exit 0 and that command\'s usage for every command and subcommand of the table, with no side effects', async () => {
  const paths = await commandPaths();
  assert.ok(paths.some((x) => x.join(' ') === 'weights check'), 'subcommands are covered');
  const results = await runAll(paths.map((x) => [...x, '--help']));
  for (const [i, path] of paths.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 0, `dag ${path.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: dag ${path.join(' ')} `), `dag ${path.join(' ')} --help prints its usage`);
    assert.match(r.stdout, /-h, --help/);
    assert.equal(r.stderr, '');
    // In-process, `dag help CMD` and `dag CMD -h` print the same text.
    for (const argv of [['help', ...path], [...path, '-h']]) {
      const o = bufferOutput();
      assert.equal(await main(argv, o), 0, argv.join(' '));
      assert.equal(o.text().stdout, r.stdout, `dag ${argv.join(' ')} prints the same help`);
    }
  }
  assert.equal(existsSync(join(p.dir, 'cache')), false, 'no help created the cache');
  assert.deepEqual(p.takeInvocations(), []);
});

test('usage errors: unknown command/option and stray arguments exit 2 with a did-you-mean; --gpus and -j are validated', async () => {
  const [cmd, opt, stray, stray2, gpus, jobs, jobsText, help, noSub] = await runAll([
    ['stauts'],
    ['run', '--dryrun'],
    ['status', 'all'],
    ['verify', 'now'],
    ['run', '--gpus', 'garbage'],
    ['run', '-j', '0'],
    ['run', '--jobs', 'many'],
    ['help', 'run'],
    ['weights'],
  ]);
  assert.equal(cmd!.code, 2);
  assert.match(cmd!.stderr, /unknown command 'stauts'\n\(Did you mean status\?\)/);
  assert.equal(opt!.code, 2);
  assert.match(opt!.stderr, /unknown option '--dryrun'\n\(Did you mean --dry-run\?\)/);
  assert.match(opt!.stderr, /dag run --help/);
  assert.equal(stray!.code, 2);
  assert.match(stray!.stderr, /unexpected argument 'all' for 'dag status'[^\n]*\n\(Did you mean --all\?\)/);
  assert.equal(stray2!.code, 2);
  assert.match(stray2!.stderr, /unexpected argument 'now' for 'dag verify'/);
  assert.equal(gpus!.code, 2);
  assert.match(gpus!.stderr, /--gpus.*'garbage' is not a card; expected a count/);
  assert.equal(jobs!.code, 2);
  assert.match(jobs!.stderr, /--jobs.*argument '0' is invalid\. expected a whole number >= 1/);
  assert.equal(jobsText!.code, 2);
  assert.equal(help!.code, 0);
  assert.match(help!.stdout, /^Usage: dag run \[options\] \[TARGET\.\.\.\]/);
  assert.match(help!.stdout, /-n, --dry-run/);
  assert.match(help!.stdout, /--gpus <N\|ID,ID\|none>/);
  assert.equal(noSub!.code, 2);
  assert.match(noSub!.stderr, /'dag weights' needs a subcommand: check, ls/);
  for (const r of [cmd, opt, stray, gpus, jobs]) assert.doesNotMatch(r!.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(join(p.dir, 'cache')), false, 'nothing was run');
  assert.deepEqual(p.takeInvocations(), []);
});
