/** `dag path INSTANCE OUTPUT`: an output's absolute path in the store, for other tools. */
import { defineCommand } from '../../core/command.ts';
import { OUTPUT_ARGS, storedOutput } from '../stored-output.ts';

export default defineCommand({
  description: "Prints an output's absolute path in the store. A stale instance serves its latest run (said on stderr); a corrupted object is refused.",
  pipeline: true,
  args: OUTPUT_ARGS,
  examples: ["python -c \"import numpy; numpy.load('$(dag path 'extract[dataset=knee]' acts/conv1.npy)')\""],
  async run(call) {
    call.output.out(await storedOutput(call));
    return 0;
  },
});
