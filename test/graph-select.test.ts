// Graph functions over a loaded plan: topological order, cycles, target selection with the
// upstream closure, --only selection, downstream sets, and the Mermaid / DOT renderers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DirectedGraph } from 'graphology';
import { loadOk } from './fixtures/pipeline/helpers.ts';
import {
  buildInstanceGraph,
  buildStageGraph,
  CycleError,
  downstreamOf,
  findCycles,
  selectOnly,
  selectWithUpstream,
  toDot,
  toMermaid,
  topologicalOrder,
  UnknownTargetError,
} from '../src/graph/index.ts';

const YAML = `datasets: { knee: {}, chest: {} }
stages:
  prep: { uses: train, matrix: { dataset: $datasets } }
  pretrain: { uses: train, matrix: { source: [nat, med] } }
  finetune:
    uses: train
    matrix: { dataset: $datasets, source: [nat, med], fold: [1, 2] }
    needs: [prep, { stage: pretrain, where: { source: nat } }]
  report: { uses: summarize, needs: [finetune] }
`;

function graphOf(edges: Array<[string, string]>, nodes: string[]): DirectedGraph {
  const g = new DirectedGraph({ allowSelfLoops: true });
  for (const n of nodes) g.addNode(n);
  for (const [a, b] of edges) g.addEdge(a, b);
  return g;
}

describe('order and cycles', () => {
  it('topologicalOrder puts sources first and breaks ties by insertion order', () => {
    const g = graphOf([['c', 'a'], ['b', 'a'], ['d', 'b']], ['a', 'b', 'c', 'd']);
    assert.deepEqual(topologicalOrder(g), ['c', 'd', 'b', 'a']);
  });

  it('topologicalOrder throws a CycleError naming a cycle', () => {
    const g = graphOf([['a', 'b'], ['b', 'c'], ['c', 'a'], ['x', 'a']], ['x', 'a', 'b', 'c']);
    assert.throws(() => topologicalOrder(g), (e: unknown) => e instanceof CycleError && e.code === 'CYCLE' && e.cycle.join() === 'a,b,c');
  });

  it('findCycles returns one cycle per strongly connected component, self loops included', () => {
    const g = graphOf([['a', 'b'], ['b', 'a'], ['c', 'd'], ['d', 'e'], ['e', 'c'], ['f', 'f'], ['a', 'c']], ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    assert.deepEqual(findCycles(g), [['a', 'b'], ['c', 'd', 'e'], ['f']]);
    assert.deepEqual(findCycles(graphOf([['a', 'b']], ['a', 'b'])), []);
  });

  it('builds stage and instance graphs with upstream -> downstream edges', async () => {
    const { plan } = await loadOk(YAML);
    const sg = buildStageGraph(plan);
    assert.deepEqual(sg.edges().map((e) => `${sg.source(e)}>${sg.target(e)}`), ['prep>finetune', 'pretrain>finetune', 'finetune>report']);
    assert.equal(sg.getNodeAttribute('finetune', 'instances'), 8);
    const ig = buildInstanceGraph(plan);
    assert.equal(ig.order, plan.instances.size);
    assert.equal(ig.size, [...plan.instances.values()].reduce((n, i) => n + i.deps.length, 0));
    assert.deepEqual(topologicalOrder(ig), [...plan.instances.keys()]);
  });
});

describe('selection', () => {
  it('selectWithUpstream: a stage target brings its whole upstream closure', async () => {
    const { plan } = await loadOk(YAML);
    const sel = selectWithUpstream(plan, ['finetune']);
    assert.equal(sel.size, 2 + 1 + 8); // both preps, only the nat pretrain (where), all finetunes
    assert.ok(!sel.has('pretrain[source=med]'));
    assert.ok(!sel.has('report'));
    // In plan order.
    assert.deepEqual([...sel], [...plan.instances.keys()].filter((k) => sel.has(k)));
  });

  it('selectWithUpstream: instance ids and partial ids', async () => {
    const { plan } = await loadOk(YAML);
    assert.deepEqual([...selectWithUpstream(plan, ['finetune[dataset=chest,source=med,fold=2]'])], [
      'prep[dataset=chest]',
      'finetune[dataset=chest,source=med,fold=2]', // the where filter keeps only the nat pretrain
    ]);
    const partial = selectWithUpstream(plan, ['finetune[dataset=knee,fold=1]']);
    assert.deepEqual([...partial], ['prep[dataset=knee]', 'pretrain[source=nat]', 'finetune[dataset=knee,source=nat,fold=1]', 'finetune[dataset=knee,source=med,fold=1]']);
    assert.equal(selectWithUpstream(plan, []).size, plan.instances.size);
  });

  it('unknown targets are typed errors with did-you-mean', async () => {
    const { plan } = await loadOk(YAML);
    assert.throws(() => selectWithUpstream(plan, ['finetun']), (e: unknown) => e instanceof UnknownTargetError && e.code === 'UNKNOWN_TARGET' && e.suggestion === 'finetune');
    assert.throws(() => selectOnly(plan, ['finetune[dataset=kne]']), (e: unknown) => e instanceof UnknownTargetError && e.suggestion === 'knee' && /not a value of axis 'dataset'/.test(e.message));
    assert.throws(() => selectOnly(plan, ['finetune[datset=knee]']), (e: unknown) => e instanceof UnknownTargetError && e.suggestion === 'dataset');
  });

  it('selectOnly takes just the named instances; downstreamOf follows dependents', async () => {
    const { plan } = await loadOk(YAML);
    const only = selectOnly(plan, ['report', 'prep[dataset=knee]']);
    assert.deepEqual([...only], ['prep[dataset=knee]', 'report']);
    const down = downstreamOf(plan, ['prep[dataset=chest]']);
    assert.deepEqual([...down], [
      'prep[dataset=chest]',
      'finetune[dataset=chest,source=nat,fold=1]',
      'finetune[dataset=chest,source=nat,fold=2]',
      'finetune[dataset=chest,source=med,fold=1]',
      'finetune[dataset=chest,source=med,fold=2]',
      'report',
    ]);
    assert.deepEqual([...downstreamOf(plan, ['pretrain[source=med]'])], ['pretrain[source=med]']);
  });
});

describe('renderers', () => {
  const SMALL = `stages:
  a: { uses: train, matrix: { x: [1, 2] } }
  b:
    uses: summarize
    needs: [{ stage: a, where: { x: 2 } }]
`;

  it('mermaid stage and instance graphs', async () => {
    const { plan } = await loadOk(SMALL);
    assert.equal(toMermaid(plan, 'stage'), 'flowchart LR\n  s0["a<br/>train × 2"]\n  s1["b<br/>summarize × 1"]\n  s0 -->|"where x=2"| s1\n');
    assert.equal(
      toMermaid(plan, 'instance'),
      'flowchart LR\n  subgraph g0["a"]\n    i0["a[x=1]"]\n    i1["a[x=2]"]\n  end\n  subgraph g1["b"]\n    i2["b"]\n  end\n  i1 --> i2\n',
    );
  });

  it('dot stage and instance graphs', async () => {
    const { plan } = await loadOk(SMALL);
    assert.equal(
      toDot(plan, 'stage'),
      'digraph dag {\n  rankdir=LR;\n  node [shape=box, fontname="Helvetica"];\n  "a" [label="a\\ntrain × 2"];\n  "b" [label="b\\nsummarize × 1"];\n  "a" -> "b" [label="where x=2"];\n}\n',
    );
    assert.equal(
      toDot(plan, 'instance'),
      'digraph dag {\n  rankdir=LR;\n  node [shape=box, fontname="Helvetica"];\n  subgraph cluster_0 {\n    label="a";\n    "a[x=1]";\n    "a[x=2]";\n  }\n  subgraph cluster_1 {\n    label="b";\n    "b";\n  }\n  "a[x=2]" -> "b";\n}\n',
    );
  });
});
