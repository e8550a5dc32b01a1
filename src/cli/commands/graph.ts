/** `dag graph`: the stage (or instance) graph as mermaid or dot text, or drawn to an SVG file (--svg). */
import { CommandError, defineCommand } from '../../core/command.ts';
import { classifyWithFailure } from '../instance-state.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

export default defineCommand({
  description:
    'Prints the stage graph (or, with --instances, the instance graph) as Mermaid or Graphviz dot text; --svg FILE draws it ' +
    '(dagre layout) coloured cached / stale / never run / failed and prints the file path.',
  pipeline: true,
  options: [
    { long: 'instances', doc: 'one node per instance instead of per stage' },
    { long: 'format', value: 'F', choices: ['mermaid', 'dot'], doc: 'output format (default mermaid)' },
    { long: 'svg', value: 'FILE', doc: 'draw the graph to this SVG file, coloured by state' },
  ],
  examples: ['dag graph --format dot | dot -Tsvg > graph.svg', 'dag graph --instances --svg graph.svg'],
  async run({ options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true, keys: options.svg !== undefined });
    if (options.svg !== undefined) {
      if (options.svg === '') throw new CommandError('--svg needs a file name: dag graph --svg graph.svg');
      const file = String(options.svg);
      const ids = [...l.plan.instances.keys()];
      const analysis = l.keys.analyze(ids);
      const states = new Map(
        ids.map((id) => {
          const k = classifyWithFailure(l.cache, id, analysis.get(id)!).kind;
          return [id, k === 'cached' ? 'cached' : k === 'failed' || k === 'missing' || k === 'corrupted' ? 'failed' : k === 'stale' ? 'stale' : 'never'] as const;
        }),
      );
      const [{ toSvg }, { writeFileSync }, { resolve }] = await Promise.all([import('../../graph/svg.ts'), import('node:fs'), import('node:path')]);
      writeFileSync(file, toSvg(l.plan, options.instances ? 'instance' : 'stage', states));
      output.out(resolve(file));
      return 0;
    }
    const { toDot, toMermaid } = await import('../../graph/render.ts');
    const render = options.format === 'dot' ? toDot : toMermaid;
    output.out(render(l.plan, options.instances ? 'instance' : 'stage'));
    return 0;
  },
});
