/**
 * `dag weights check|ls FILE.h5`: does a Keras weights file fit a model, and what is in it
 * (src/ml/weights-check.ts). Exit status: 0 fits, 1 does not fit, 2 usage error or an
 * unreadable file.
 */
import { CommandError, defineCommand, wholeNumber } from '../src/core/command.ts';
import { StageError } from '../src/core/contract.ts';
import { listVariants, variantSpec } from '../src/ml/resnet.ts';

const FILE = [{ name: 'FILE.h5', doc: 'Keras weights file', required: true }];
const JSON_OPTION = { long: 'json', doc: 'one JSON object instead of lines' };

/** Runs a report, turning the study's StageErrors (unknown variant, unreadable file) into exit 2. */
async function report(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof StageError) throw new CommandError(`dag weights: ${e.message} [${e.code}]`);
    throw e;
  }
}

export default defineCommand({
  description: 'Vets a Keras .h5 weights file before training depends on it. Exit status: 0 fits, 1 does not fit, 2 usage error or unreadable file.',
  subcommands: {
    check: {
      summary: 'does a weights file fit a model: layers matched, missing, extra, mismatched',
      description:
        "Compares the file's layers and shapes with the model's layer plan (no model is built, no array read) and prints " +
        'matched, missing, extra and mismatched layers with both shapes. Exit status: 0 fits, 1 does not fit, 2 usage or unreadable file.',
      args: FILE,
      options: [
        { long: 'model', value: 'VARIANT', doc: `model variant: ${listVariants().map((v) => v.name).join(', ')} (default resnet50)`, parse: (raw) => variantSpec(raw).name },
        { long: 'input', value: 'SIZE', doc: "report the compared layers' sizes at this input size", parse: wholeNumber(32) },
        { long: 'classes', value: 'N', doc: 'also expect a dense head with N classes (a fine-tuned checkpoint)', parse: wholeNumber(2) },
        { long: 'allow-extra', doc: 'layers the model does not have are not a misfit' },
        JSON_OPTION,
      ],
      examples: ['dag weights check resnet50_notop.h5 --model resnet50', 'dag weights check finetuned.h5 --model resnet-micro --classes 2'],
      run: ({ args, options, output }) =>
        report(async () => {
          const { weightsCheck } = await import('../src/ml/weights-check.ts');
          const r = await weightsCheck(args[0]!, {
            model: (options.model as string | undefined) ?? 'resnet50',
            input: (options.input as number | undefined) ?? null,
            classes: (options.classes as number | undefined) ?? null,
            allowExtra: Boolean(options.allowExtra),
          });
          if (options.json) output.out(JSON.stringify(r.json));
          else for (const line of r.lines) output.out(line);
          return r.fits ? 0 : 1;
        }),
    },
    ls: {
      summary: "list a weights file's layers and weight shapes",
      description: 'Lists the layers of a Keras .h5 weights file with their weights and shapes.',
      args: FILE,
      options: [JSON_OPTION],
      run: ({ args, options, output }) =>
        report(async () => {
          const { weightsList } = await import('../src/ml/weights-check.ts');
          const r = await weightsList(args[0]!);
          if (options.json) output.out(JSON.stringify(r.json));
          else for (const line of r.lines) output.out(line);
          return 0;
        }),
    },
  },
});
