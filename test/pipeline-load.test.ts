// Pipeline loading: matrix expansion and ids, stability when a dataset is added, exclude,
// needs matching (shared axes, where, as), interpolation, defaults, resources, seeds, paths.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadOk, loadYaml, KINDS_DIR, posOf, tempProject } from './fixtures/pipeline/helpers.ts';
import { loadPipeline } from '../src/pipeline/load.ts';
import { loadStageKinds } from '../src/pipeline/kinds.ts';

const STUDY = (extraDataset = '') => `version: 1
seed: 7
datasets:
  knee: { adapter: knee, size: 64 }
  shapes: { adapter: synthetic, size: 32 }${extraDataset}
sources:
  natural: { epochs: 2 }
  medical: { epochs: 4 }
folds: [1, 2]
stages:
  prep:
    uses: prep
    matrix: { dataset: $datasets }
    params: { adapter: "\${dataset.adapter}", size: "\${dataset.size}", note: "run-\${dataset}-x" }
  pretrain:
    uses: train
    matrix: { source: $sources }
    params: { epochs: "\${source.epochs}" }
  finetune:
    uses: train
    needs: [prep, pretrain]
    matrix: { dataset: $datasets, source: [natural, medical, random], freeze: [false, true], fold: $folds }
    exclude: [ { source: random, freeze: true } ]
    params: { freeze: "\${freeze}", tag: "\${dataset}/\${fold}" }
  report:
    uses: summarize
    needs: [finetune]
`;

describe('matrix expansion', () => {
  it('gives ids stage[axis=value,...] in matrix declaration order, last axis fastest', async () => {
    const { plan } = await loadOk(STUDY());
    const ids = [...plan.instances.keys()];
    assert.deepEqual(ids.slice(0, 4), ['prep[dataset=knee]', 'prep[dataset=shapes]', 'pretrain[source=natural]', 'pretrain[source=medical]']);
    assert.equal(ids[4], 'finetune[dataset=knee,source=natural,freeze=false,fold=1]');
    assert.equal(ids[5], 'finetune[dataset=knee,source=natural,freeze=false,fold=2]');
    assert.equal(ids[6], 'finetune[dataset=knee,source=natural,freeze=true,fold=1]');
    assert.equal(ids.at(-1), 'report');
    // 2 datasets x (3 sources x 2 freeze - 1 excluded) x 2 folds
    assert.equal(ids.filter((i) => i.startsWith('finetune[')).length, 2 * 5 * 2);
    const inst = plan.instances.get('finetune[dataset=shapes,source=medical,freeze=true,fold=2]');
    assert.deepEqual(inst?.axes, { dataset: 'shapes', source: 'medical', freeze: true, fold: 2 });
  });

  it('exclude removes every matching combination, and list values mean any of', async () => {
    const { plan } = await loadOk(STUDY());
    assert.ok(!plan.instances.has('finetune[dataset=knee,source=random,freeze=true,fold=1]'));
    assert.ok(plan.instances.has('finetune[dataset=knee,source=random,freeze=false,fold=1]'));
    const { plan: p2 } = await loadOk(STUDY().replace('exclude: [ { source: random, freeze: true } ]', 'exclude: [ { source: [random, medical], fold: 2 } ]'));
    const ft = [...p2.instances.values()].filter((i) => i.stage === 'finetune');
    assert.equal(ft.length, 2 * 3 * 2 * 2 - 2 * 2 * 2);
    assert.ok(ft.every((i) => !(i.axes.fold === 2 && (i.axes.source === 'random' || i.axes.source === 'medical'))));
    assert.deepEqual(p2.stages.get('finetune')?.exclude, [
      { source: 'random', fold: 2 },
      { source: 'medical', fold: 2 },
    ]);
  });

  it('supports { from: $collection, only: [...] } and keeps value types', async () => {
    const { plan } = await loadOk(STUDY().replace('matrix: { source: $sources }', 'matrix: { source: { from: $sources, only: [medical] } }'));
    const pre = [...plan.instances.values()].filter((i) => i.stage === 'pretrain');
    assert.deepEqual(pre.map((i) => [i.id, i.params.epochs]), [['pretrain[source=medical]', 4]]);
    assert.deepEqual(plan.stages.get('finetune')?.matrix.fold, [1, 2]);
  });
});

describe('adding a dataset', () => {
  it('adds instances and leaves every existing id, param, dep and seed identical', async () => {
    const before = (await loadOk(STUDY())).plan;
    const after = (await loadOk(STUDY('\n  chest: { adapter: folder, size: 128 }'))).plan;
    assert.ok(after.instances.size > before.instances.size);
    assert.ok(after.instances.has('prep[dataset=chest]'));
    for (const [id, inst] of before.instances) {
      const again = after.instances.get(id);
      assert.ok(again, `instance ${id} disappeared`);
      if (inst.stage === 'report') continue; // report aggregates every finetune: its deps grow by design
      assert.deepEqual(again.params, inst.params, id);
      assert.deepEqual(again.deps, inst.deps, id);
      assert.deepEqual(again.axes, inst.axes, id);
      assert.equal(again.seed, inst.seed);
    }
  });
});

describe('needs matching', () => {
  it('matches on shared axes; zero matches for one instance is allowed', async () => {
    const { plan } = await loadOk(STUDY());
    const d = plan.instances.get('finetune[dataset=knee,source=medical,freeze=false,fold=2]');
    assert.deepEqual(d?.deps, ['prep[dataset=knee]', 'pretrain[source=medical]']);
    assert.deepEqual(plan.instances.get('finetune[dataset=knee,source=random,freeze=false,fold=2]')?.deps, ['prep[dataset=knee]']);
    const report = plan.instances.get('report');
    assert.equal(report?.deps.length, 20);
  });

  it('deps are sorted by upstream stage declaration order, then matrix order', async () => {
    const { plan } = await loadOk(STUDY().replace('needs: [prep, pretrain]', 'needs: [pretrain, prep]'));
    assert.deepEqual(plan.instances.get('finetune[dataset=shapes,source=natural,freeze=true,fold=1]')?.deps, ['prep[dataset=shapes]', 'pretrain[source=natural]']);
  });

  it('where filters upstream instances and as renames an upstream axis', async () => {
    const yaml = `models: [a, b]
stages:
  train:
    uses: train
    matrix: { model: $models, freeze: [false, true], fold: [1, 2] }
  compare:
    uses: summarize
    matrix: { left: $models, fold: [1, 2] }
    needs:
      - { stage: train, where: { freeze: false }, as: { model: left } }
`;
    const { plan } = await loadOk(yaml);
    assert.deepEqual(plan.instances.get('compare[left=b,fold=2]')?.deps, ['train[model=b,freeze=false,fold=2]']);
    assert.deepEqual(plan.stages.get('compare')?.needs[0]?.where, { freeze: [false] });
    assert.deepEqual(plan.stages.get('compare')?.needs[0]?.as, { model: 'left' });
  });

  it('a where list keeps any listed value', async () => {
    const yaml = `stages:
  train: { uses: train, matrix: { fold: [1, 2, 3] } }
  agg:
    uses: summarize
    needs: [{ stage: train, where: { fold: [1, 3] } }]
`;
    const { plan } = await loadOk(yaml);
    assert.deepEqual(plan.instances.get('agg')?.deps, ['train[fold=1]', 'train[fold=3]']);
  });
});

describe('params', () => {
  it('interpolates whole references with their JSON type and embedded ones as text', async () => {
    const { plan } = await loadOk(STUDY());
    const p = plan.instances.get('prep[dataset=knee]')?.params;
    assert.deepEqual(p, { adapter: 'knee', size: 64, note: 'run-knee-x' });
    const f = plan.instances.get('finetune[dataset=knee,source=medical,freeze=true,fold=2]')?.params;
    assert.equal(f?.freeze, true);
    assert.equal(f?.tag, 'knee/2');
    assert.equal(plan.instances.get('pretrain[source=medical]')?.params.epochs, 4);
  });

  it('reaches nested fields, whole objects, collections by name, and $${ escapes', async () => {
    const yaml = `datasets:
  knee: { adapter: knee, opt: { name: sgd, momentum: 0.9 }, tags: [x, y] }
stages:
  t:
    uses: train
    matrix: { dataset: $datasets }
    params:
      optimizer: "\${dataset.opt}"
      tag: "\${dataset.opt.name}-\${dataset.tags.1}-$\${literal}"
      extra: "\${datasets.knee.tags}"
`;
    const { plan } = await loadOk(yaml);
    const p = plan.instances.get('t[dataset=knee]')?.params;
    assert.deepEqual(p?.optimizer, { name: 'sgd', momentum: 0.9 });
    assert.equal(p?.tag, 'sgd-y-${literal}');
    assert.deepEqual(p?.extra, ['x', 'y']);
  });

  it('optional references (${x?}) leave out missing fields so defaults apply', async () => {
    const yaml = `datasets:
  a: { epochs: 7, opt: { name: sgd } }
  b: {}
stages:
  t:
    uses: train
    matrix: { dataset: $datasets }
    params: { epochs: "\${dataset.epochs?}", optimizer: { name: "\${dataset.opt.name?}" }, tag: "x\${dataset.suffix?}" }
`;
    const { plan } = await loadOk(yaml);
    assert.equal(plan.instances.get('t[dataset=a]')?.params.epochs, 7);
    assert.equal(plan.instances.get('t[dataset=b]')?.params.epochs, 3);
    assert.deepEqual(plan.instances.get('t[dataset=b]')?.params.optimizer, { name: 'adam' });
    assert.deepEqual(plan.instances.get('t[dataset=a]')?.params.optimizer, { name: 'sgd' });
    assert.equal(plan.instances.get('t[dataset=b]')?.params.tag, 'x');
  });

  it('applies defaults (also nested) and keeps only the instance own params', async () => {
    const { plan } = await loadOk(STUDY());
    const p = plan.instances.get('pretrain[source=natural]')?.params;
    assert.deepEqual(p, { epochs: 2, lr: 0.001, freeze: false, layers: ['conv1'], optimizer: { name: 'adam' } });
    // The raw params of the stage stay unresolved in the StageDecl.
    assert.deepEqual(plan.stages.get('pretrain')?.params, { epochs: '${source.epochs}' });
  });

  it('makes path params absolute relative to the file and lists them as external paths', async () => {
    const yaml = `datasets:
  knee: { root: data/knee }
stages:
  prep:
    uses: prep
    matrix: { dataset: $datasets }
    params: { adapter: knee, root: "\${dataset.root}" }
`;
    const { result, dir } = await loadYaml(yaml);
    assert.equal(result.ok, true);
    if (!result.ok) return;
    const inst = result.plan.instances.get('prep[dataset=knee]');
    assert.equal(inst?.params.root, join(dir, 'data/knee'));
    assert.deepEqual(inst?.externalPaths, [join(dir, 'data/knee')]);
    // The folder is missing: a warning (status must still work), not an error.
    assert.deepEqual(result.warnings.map((w) => [w.code, w.severity, `${w.loc?.line}:${w.loc?.col}`]), [['PATH_MISSING', 'warning', posOf(yaml, 'data/knee')]]);
    assert.match(result.warnings[0]!.message, /path param 'root' = .*data\/knee does not exist/);
    mkdirSync(join(dir, 'data/knee'), { recursive: true });
    const again = await loadPipeline(join(dir, 'pipeline.yaml'), { stagesDir: KINDS_DIR });
    assert.ok(again.ok && again.warnings.length === 0);
  });
});

describe('yaml features', () => {
  it('anchors, aliases and merge keys work in stages and params', async () => {
    const yaml = `defaults: &train { uses: train, params: { epochs: 5, lr: 0.1 } }
stages:
  a:
    <<: *train
    seed: 3
  b:
    <<: *train
    params: { epochs: 9 }
`;
    const { plan } = await loadOk(yaml);
    assert.equal(plan.instances.get('a')?.params.epochs, 5);
    assert.equal(plan.instances.get('a')?.params.lr, 0.1);
    assert.equal(plan.instances.get('a')?.seed, 3);
    // Keys written in the map win over merged ones (params is replaced, not deep-merged).
    assert.equal(plan.instances.get('b')?.params.epochs, 9);
    assert.equal(plan.instances.get('b')?.params.lr, 0.001);
  });
});

describe('plan fields', () => {
  it('resources: stage overrides over kind defaults; seed: stage over top level; cache dir', async () => {
    const yaml = `seed: 11
cache: store
stages:
  a: { uses: train, resources: { gpu: 0, memory_mb: 512 }, seed: 5 }
  b: { uses: train }
  c: { uses: summarize, needs: [a, b] }
`;
    const { plan, dir } = await loadOk(yaml);
    assert.deepEqual(plan.instances.get('a')?.resources, { gpu: 0, cpu: 2, memoryMb: 512 });
    assert.deepEqual(plan.instances.get('b')?.resources, { gpu: 1, cpu: 2, memoryMb: 2048 });
    assert.deepEqual(plan.instances.get('c')?.resources, { gpu: 0, cpu: 1 });
    assert.equal(plan.instances.get('a')?.seed, 5);
    assert.equal(plan.instances.get('b')?.seed, 11);
    assert.equal(plan.cacheDir, join(dir, 'store'));
    assert.equal(plan.kinds.get('train')?.file, join(KINDS_DIR, 'train.ts'));
  });

  it('orders stages topologically even when declared out of order', async () => {
    const yaml = `stages:
  last: { uses: summarize, needs: [mid] }
  mid: { uses: train, needs: [first] }
  first: { uses: train }
  alone: { uses: summarize }
`;
    const { plan } = await loadOk(yaml);
    assert.deepEqual(plan.stageOrder, ['first', 'mid', 'last', 'alone']);
    assert.deepEqual([...plan.instances.keys()], ['first', 'mid', 'last', 'alone']);
    assert.deepEqual([...plan.stages.keys()], ['last', 'mid', 'first', 'alone']);
  });

  it('loads plugin kinds relative to the pipeline file', async () => {
    const plugin = `import { defineStage } from '${join(process.cwd(), 'src/core/contract.ts')}';
export default defineStage({ kind: 'mine', doc: 'plugin', params: { n: { type: 'number', doc: 'n', default: 2 } }, async run() {} });
`;
    const { plan } = await loadOk(`plugins: [kinds/mine.ts]\nstages:\n  m: { uses: mine }\n`, { 'kinds/mine.ts': plugin });
    assert.deepEqual(plan.instances.get('m')?.params, { n: 2 });
  });

  it('loadStageKinds lists the built-in kinds of a folder', async () => {
    const { kinds, errors } = await loadStageKinds({ stagesDir: KINDS_DIR });
    assert.deepEqual(errors, []);
    assert.deepEqual([...kinds.keys()].sort(), ['prep', 'summarize', 'train']);
  });

  it('an empty stages dir and no plugins is fine for a pipeline without stages that need kinds', async () => {
    const dir = tempProject({});
    const { kinds } = await loadStageKinds({ stagesDir: join(dir, 'none') });
    assert.equal(kinds.size, 0);
  });
});
