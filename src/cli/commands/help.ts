/** `dag help [COMMAND...]`: the usage and options of a command, or the list of commands. */
import { defineCommand } from '../../core/command.ts';
import { printHelp } from '../program.ts';

export default defineCommand({
  description: "Prints a command's usage and options (the same as dag COMMAND --help), or, without a command, the list of commands.",
  args: [{ name: 'COMMAND', doc: 'a command, and for weights/data a subcommand (dag help weights check)', variadic: true }],
  examples: ['dag help run', 'dag help weights check'],
  async run({ args, output }) {
    await printHelp(args, output);
    return 0;
  },
});
