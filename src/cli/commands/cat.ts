/** `dag cat INSTANCE OUTPUT`: an output's bytes on stdout. */
import { createReadStream } from 'node:fs';
import { defineCommand } from '../../core/command.ts';
import { OUTPUT_ARGS, storedOutput } from '../stored-output.ts';

export default defineCommand({
  description: "Writes an output's bytes to stdout. A stale instance serves its latest run (said on stderr); a corrupted object is refused.",
  pipeline: true,
  args: OUTPUT_ARGS,
  examples: ["dag cat 'preprocess[dataset=knee]' labels.npy > labels.npy"],
  async run(call) {
    const path = await storedOutput(call);
    await new Promise<void>((res, rej) => {
      const s = createReadStream(path);
      s.on('error', rej);
      s.on('end', () => res());
      s.pipe(call.output.stdout, { end: false });
    });
    return 0;
  },
});
