/** `dag graph`: the stage (or instance) graph as mermaid or dot text. */
import { defineCommand } from '../../core/command.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

export default defineCommand({
  description: 'Prints the stage graph (or, with --instances, the instance graph) as Mermaid or Graphviz dot text.',
  pipeline: true,
  options: [
    { long: 'instances', doc: 'one node per instance instead of per stage' },
    { long: 'format', value: 'F', choices: ['mermaid', 'dot'], doc: 'output format (default mermaid)' },
  ],
  examples: ['dag graph --format dot | dot -Tsvg > graph.svg'],
  async run({ options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true, keys: false });
    const { toDot, toMermaid } = await import('../../graph/render.ts');
    const render = options.format === 'dot' ? toDot : toMermaid;
    output.out(render(l.plan, options.instances ? 'instance' : 'stage'));
    return 0;
  },
});
