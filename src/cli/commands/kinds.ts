/** `dag kinds`: stage kinds (built-in and the pipeline's plugins) with their params. */
import { existsSync } from 'node:fs';
import { defineCommand } from '../../core/command.ts';
import type { LoadedKind } from '../../core/plan.ts';
import { loadPlanFile, pipelineFile, stagesDirOption } from '../pipeline.ts';

export default defineCommand({
  description: "Stage kinds with their params, types, defaults and docs: the built-in ones and, when the pipeline file exists, its plugins.",
  pipeline: 'file-only',
  async run({ options, output }) {
    const file = pipelineFile(options);
    let kinds: ReadonlyMap<string, LoadedKind>;
    if (existsSync(file)) {
      kinds = (await loadPlanFile(file, output, { quietWarnings: true })).kinds;
    } else {
      const { loadStageKinds } = await import('../../pipeline/kinds.ts');
      kinds = (await loadStageKinds(stagesDirOption())).kinds;
    }
    const { bold, dim } = output.style;
    for (const { kind } of [...kinds.values()].sort((a, b) => a.kind.kind.localeCompare(b.kind.kind))) {
      output.out(bold(kind.kind));
      output.out(`  ${kind.doc}`);
      for (const [name, spec] of Object.entries(kind.params)) {
        const def = spec.default !== undefined ? ` = ${JSON.stringify(spec.default)}` : spec.required ? ' (required)' : '';
        output.out(`    ${name}: ${spec.type}${def}  ${dim(spec.doc)}`);
      }
      output.out();
    }
    return 0;
  },
});
