/** `dag version` (also `dag --version`, `-V`): the package version. */
import { defineCommand } from '../../core/command.ts';
import { packageVersion } from '../package-info.ts';

export default defineCommand({
  description: "Prints dag's version.",
  async run({ output }) {
    output.out(`dag ${packageVersion()}`);
    return 0;
  },
});
