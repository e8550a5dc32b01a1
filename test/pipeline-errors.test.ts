// Validation: every kind of configuration problem is reported with its code at the exact
// file:line:col, all of them in one run, deduplicated across instances, and formatted like
// compiler output (location, message, the offending line and a caret).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BROKEN_KINDS_DIR, loadErrors, loadYaml, posOf, where } from './fixtures/pipeline/helpers.ts';
import { formatConfigError, formatConfigErrors, type ConfigError } from '../src/pipeline/errors.ts';
import { loadPipeline } from '../src/pipeline/load.ts';
import { loadStageKinds } from '../src/pipeline/kinds.ts';

/** Find the one problem with `code`, failing with the full list otherwise. */
function one(errors: ConfigError[], code: string): ConfigError {
  const hits = errors.filter((e) => e.code === code);
  assert.equal(hits.length, 1, `expected one ${code}, got: ${errors.map((e) => `${where(e)} ${e.message}`).join('\n')}`);
  return hits[0]!;
}

function at(e: ConfigError): string {
  return `${e.loc?.line}:${e.loc?.col}`;
}

describe('YAML level', () => {
  it('reports syntax errors and duplicate keys at their position', async () => {
    const yaml = 'stages:\n  a: { uses: train\n  b: { uses: train }\n  b: { uses: train }\n';
    const errors = await loadErrors(yaml);
    assert.equal(where(one(errors, 'YAML_SYNTAX')), 'YAML_SYNTAX@3:3');
    assert.match(one(errors, 'YAML_SYNTAX').message, /Flow map .* end with a \}/);
    assert.equal(where(one(errors, 'DUPLICATE_KEY')), 'DUPLICATE_KEY@4:3');
    assert.match(one(errors, 'DUPLICATE_KEY').message, /duplicate key 'b'/);
  });

  it('reports unresolved aliases once, without follow-up errors', async () => {
    const yaml = 'stages:\n  a: { uses: train, params: *p }\n';
    const errors = await loadErrors(yaml);
    assert.deepEqual(errors.map(where), [`YAML_SYNTAX@${posOf(yaml, '*p')}`]);
    assert.match(errors[0]!.message, /unresolved alias \*p/);
  });

  it('reports an unreadable file as FILE_READ', async () => {
    const r = await loadPipeline('/nonexistent/dir/pipeline.yaml');
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => e.code), ['FILE_READ']);
  });
});

describe('schema', () => {
  it('unknown keys at every level, with did-you-mean', async () => {
    const yaml = `sed: 3
stages:
  a:
    uses: train
    parms: {}
    resources: { gpus: 1 }
  b:
    uses: summarize
    needs: [{ stage: a, wher: {} }]
`;
    const errors = await loadErrors(yaml);
    const unknown = errors.filter((e) => e.code === 'UNKNOWN_KEY');
    assert.deepEqual(unknown.map(at), [posOf(yaml, 'sed'), posOf(yaml, 'parms'), posOf(yaml, 'gpus'), posOf(yaml, 'wher')]);
    assert.match(unknown[0]!.message, /did you mean 'seed'\?/);
    assert.match(unknown[1]!.message, /unknown key 'parms' in stage 'a'; did you mean 'params'\?/);
    assert.match(unknown[2]!.message, /did you mean 'gpu'\?/);
    assert.match(unknown[3]!.message, /did you mean 'where'\?/);
  });

  it('missing keys, wrong types, bad names and versions', async () => {
    const yaml = `version: 2
seed: 1.5
plugins: mine.ts
stages:
  a: { matrix: [1, 2] }
  b c: { uses: train }
  d: { uses: train, resources: { gpu: -1 } }
`;
    const errors = await loadErrors(yaml);
    assert.equal(where(one(errors, 'UNSUPPORTED_VERSION')), `UNSUPPORTED_VERSION@${posOf(yaml, '2')}`);
    assert.equal(where(one(errors, 'MISSING_KEY')), `MISSING_KEY@${posOf(yaml, 'a:')}`);
    assert.equal(where(one(errors, 'BAD_NAME')), `BAD_NAME@${posOf(yaml, 'b c')}`);
    const types = errors.filter((e) => e.code === 'SCHEMA_TYPE').map(at);
    assert.deepEqual(types, [posOf(yaml, '1.5'), posOf(yaml, 'mine.ts'), posOf(yaml, '[1, 2]'), posOf(yaml, '-1')]);
  });

  it('a file without stages', async () => {
    assert.equal(where(one(await loadErrors('seed: 1\n'), 'MISSING_KEY')), 'MISSING_KEY@1:1');
    const e = one(await loadErrors('seed: 1\nstage:\n  a: { uses: train }\n'), 'MISSING_KEY');
    assert.equal(at(e), '2:1');
    assert.match(e.message, /instead of 'stage'/);
  });

  it('a list or map under a near miss of a schema key is read as a collection, with a warning', async () => {
    const { result } = await loadYaml('plugin: [x.ts]\nstages:\n  a: { uses: train }\n');
    assert.ok(result.ok);
    if (result.ok) assert.deepEqual(result.warnings.map((w) => `${where(w)} ${w.message}`), ["UNKNOWN_KEY@1:1 top-level key 'plugin' is read as a collection; did you mean 'plugins'?"]);
  });
});

describe('references', () => {
  it('unknown stage kinds, with did-you-mean and the known kinds', async () => {
    const yaml = 'stages:\n  a: { uses: trian }\n';
    const e = one(await loadErrors(yaml), 'UNKNOWN_KIND');
    assert.equal(at(e), posOf(yaml, 'trian'));
    assert.match(e.message, /unknown stage kind 'trian' in stage 'a'; did you mean 'train'\? \(known kinds: prep, summarize, train\)/);
  });

  it('needs naming a missing stage', async () => {
    const yaml = 'stages:\n  pretrain: { uses: train }\n  b: { uses: train, needs: [pretrian] }\n';
    const e = one(await loadErrors(yaml), 'UNKNOWN_STAGE');
    assert.equal(at(e), posOf(yaml, 'pretrian'));
    assert.match(e.message, /did you mean 'pretrain'\?/);
  });

  it('unknown collections', async () => {
    const yaml = 'datasets: { knee: {} }\nstages:\n  a: { uses: train, matrix: { dataset: $dataset } }\n';
    const e = one(await loadErrors(yaml), 'UNKNOWN_COLLECTION');
    assert.equal(at(e), posOf(yaml, '$dataset }'));
    assert.match(e.message, /did you mean 'datasets'\?/);
  });

  it('unknown axes and axis values in exclude, where, as and only', async () => {
    const yaml = `datasets: { knee: {}, chest: {} }
stages:
  up:
    uses: train
    matrix: { dataset: $datasets, fold: [1, 2] }
    exclude: [ { datset: knee }, { dataset: kne } ]
  down:
    uses: train
    matrix: { dataset: { from: $datasets, only: [chest, lung] }, fold: [1, 2] }
    needs: [{ stage: up, where: { fold: 3, freeze: true }, as: { fold: folds } }]
`;
    const errors = await loadErrors(yaml);
    const axes = errors.filter((e) => e.code === 'UNKNOWN_AXIS');
    assert.deepEqual(axes.map(at), [posOf(yaml, 'datset'), posOf(yaml, 'freeze'), posOf(yaml, 'folds')]);
    assert.match(axes[0]!.message, /has no axis 'datset'; did you mean 'dataset'\?/);
    const values = errors.filter((e) => e.code === 'UNKNOWN_AXIS_VALUE');
    assert.deepEqual(values.map(at), [posOf(yaml, 'kne }'), posOf(yaml, 'lung'), posOf(yaml, '3', 'where')]);
    assert.match(values[0]!.message, /'kne' is not a value of axis 'dataset'.*did you mean 'knee'\?/);
    // The broken where filter is not also reported as matching nothing.
    assert.ok(!errors.some((e) => e.code === 'NEED_MATCHES_NOTHING'));
  });

  it('bad and duplicate axis values', async () => {
    const yaml = 'stages:\n  a: { uses: train, matrix: { x: [ok, "a b", ok], y: [1, "1"] } }\n';
    const errors = await loadErrors(yaml);
    assert.equal(where(one(errors, 'BAD_AXIS_VALUE')), `BAD_AXIS_VALUE@${posOf(yaml, '"a b"')}`);
    const dups = errors.filter((e) => e.code === 'DUPLICATE_AXIS_VALUE');
    assert.deepEqual(dups.map(at), [posOf(yaml, 'ok]'), posOf(yaml, '"1"')]);
  });

  it('a need that matches nothing for every instance', async () => {
    const yaml = `stages:
  up: { uses: train, matrix: { fold: [1, 2] } }
  down:
    uses: train
    matrix: { fold: [3, 4] }
    needs: [up]
`;
    const e = one(await loadErrors(yaml), 'NEED_MATCHES_NOTHING');
    assert.equal(at(e), posOf(yaml, 'up]'));
    assert.match(e.message, /need 'up' of stage 'down' matches no instance.*shared axes \(fold\)/);
  });

  it('stage modules that fail to import or export no kind are named', async () => {
    const { result } = await loadYaml('stages:\n  a: { uses: x }\n', {}, BROKEN_KINDS_DIR);
    assert.equal(result.ok, false);
    if (result.ok) return;
    const load = one(result.errors, 'KIND_LOAD');
    assert.match(load.message, /bad\.ts failed to import: boom at import/);
    assert.match(one(result.errors, 'KIND_INVALID').message, /noexport\.ts must default-export a StageKind/);
    assert.ok(result.errors.some((e) => e.code === 'UNKNOWN_KIND'));
  });

  it('a broken built-in module no stage can need neither blocks the pipeline nor is imported; dag kinds still reports it', async () => {
    const { result } = await loadYaml('plugins: [mine.ts]\nstages:\n  a: { uses: mine }\n', { 'mine.ts': `export default { kind: 'mine', doc: '', params: {}, async run() {} };\n` }, BROKEN_KINDS_DIR);
    assert.ok(result.ok, JSON.stringify(result));
    if (result.ok) assert.deepEqual(result.warnings.map((w) => [w.code, w.severity]), []);
    const all = await loadStageKinds({ stagesDir: BROKEN_KINDS_DIR });
    assert.deepEqual(all.errors.map((e) => e.code).sort(), ['KIND_INVALID', 'KIND_LOAD']);
  });

  it('a missing plugin module is reported at its entry', async () => {
    const yaml = 'plugins: [kinds/none.ts]\nstages:\n  a: { uses: train }\n';
    assert.equal(where(one(await loadErrors(yaml), 'KIND_LOAD')), `KIND_LOAD@${posOf(yaml, 'kinds/none.ts')}`);
  });
});

describe('params', () => {
  it('type errors at the value, and for interpolated values at the collection field naming the instance', async () => {
    const yaml = `datasets:
  knee: { adapter: knee, size: big }
  chest: { adapter: knee, size: 4 }
folds: [1, 2, 3]
stages:
  prep:
    uses: prep
    matrix: { dataset: $datasets, fold: $folds }
    params: { adapter: "\${dataset.adapter}", size: "\${dataset.size}" }
  t:
    uses: train
    params: { epochs: 0.5, layers: [conv1, 3], optimizer: { name: adamw }, freeze: "no" }
`;
    const errors = await loadErrors(yaml);
    const types = errors.filter((e) => e.code === 'PARAM_TYPE');
    assert.deepEqual(types.map(at), [posOf(yaml, 'big'), posOf(yaml, '4 }'), posOf(yaml, '0.5'), posOf(yaml, '3]', 'layers'), posOf(yaml, 'adamw'), posOf(yaml, '"no"')]);
    // One error per problem, not one per fold; the instance is named.
    assert.match(types[0]!.message, /param 'size' must be an integer >= 8 and <= 1024, found a string "big" \(value from \$\{dataset.size\}\) \(instance prep\[dataset=knee,fold=1\] and 2 more\)/);
    assert.match(types[1]!.message, /found a number 4/);
    assert.match(types[3]!.message, /param 'layers\[1\]' must be a string/);
    assert.match(types[4]!.message, /did you mean 'adam'\?/);
  });

  it('required and unknown params', async () => {
    const yaml = `stages:
  p:
    uses: prep
    params: { size: 32, colr: red }
  t:
    uses: train
    params: { optimizer: { name: sgd, momentun: 0.9 } }
`;
    const errors = await loadErrors(yaml);
    const req = one(errors, 'PARAM_REQUIRED');
    assert.equal(at(req), posOf(yaml, 'params', 'p:'));
    assert.match(req.message, /missing required param 'adapter'/);
    const unknown = errors.filter((e) => e.code === 'PARAM_UNKNOWN');
    assert.deepEqual(unknown.map(at), [posOf(yaml, 'colr'), posOf(yaml, 'momentun')]);
    assert.match(unknown[1]!.message, /unknown param 'optimizer.momentun'.*did you mean 'momentum'\?/);
  });

  it('bad references name the axis and suggest', async () => {
    const yaml = `datasets: { knee: { size: 32 } }
stages:
  p:
    uses: prep
    matrix: { dataset: $datasets, fold: [1] }
    params: { adapter: knee, size: "\${dataset.sise}", note: "x-\${datset}", root: "\${fold.path}" }
`;
    const errors = (await loadErrors(yaml)).filter((e) => e.code === 'BAD_REFERENCE');
    assert.deepEqual(errors.map(at), [posOf(yaml, '"${dataset.sise}"'), posOf(yaml, '"x-'), posOf(yaml, '"${fold.path}"')]);
    assert.match(errors[0]!.message, /datasets.knee has no field 'sise'; did you mean 'size'\? \(write \$\{dataset.sise\?\} if only some entries have it\)/);
    assert.match(errors[1]!.message, /names no axis of stage 'p' nor a collection; did you mean 'dataset'\?/);
    assert.match(errors[2]!.message, /axis 'fold' takes its values from an inline list/);
  });

  it('unterminated references', async () => {
    const yaml = 'stages:\n  t: { uses: train, params: { tag: "a-${oops" } }\n';
    const e = one(await loadErrors(yaml), 'BAD_REFERENCE');
    assert.equal(at(e), posOf(yaml, '"a-'));
    assert.match(e.message, /unterminated reference/);
  });
});

describe('cycles', () => {
  it('names every edge of the cycle with its location', async () => {
    const yaml = `stages:
  a: { uses: train, needs: [c] }
  b: { uses: train, needs: [a] }
  c: { uses: train, needs: [b] }
  d: { uses: train, needs: [d] }
`;
    const errors = (await loadErrors(yaml)).filter((e) => e.code === 'CYCLE');
    assert.equal(errors.length, 2);
    const [abc, self] = errors;
    assert.equal(at(abc!), posOf(yaml, 'c]'));
    assert.match(abc!.message, /a -> c -> b -> a; 'a' needs 'c' here/);
    assert.deepEqual(
      abc!.notes?.map((n) => `${n.message}@${n.loc?.line}:${n.loc?.col}`),
      [`'c' needs 'b' here@${posOf(yaml, 'b]')}`, `'b' needs 'a' here@${posOf(yaml, 'a]')}`],
    );
    assert.equal(at(self!), posOf(yaml, 'd]'));
    assert.match(self!.message, /stage 'd' needs itself/);
  });
});

describe('warnings', () => {
  it('exclude rules that remove nothing and stages without instances', async () => {
    const yaml = `stages:
  a: { uses: train, matrix: { x: [1, 2] }, exclude: [ { x: [1, 2] } ] }
  b: { uses: train, matrix: { x: [1, 2] }, exclude: [ { x: 1 }, { x: 1 } ] }
`;
    const { result } = await loadYaml(yaml);
    assert.ok(result.ok);
    if (!result.ok) return;
    assert.deepEqual(result.warnings.map(where), [`EMPTY_STAGE@2:3`, `EXCLUDE_MATCHES_NOTHING@${posOf(yaml, '{ x: 1 }', '}, {')}`]);
  });
});

describe('one run reports everything', () => {
  it('collects errors from every phase', async () => {
    const yaml = `sed: 3
stages:
  a: { uses: trian }
  b: { uses: train, needs: [zz], params: { epochs: -1 } }
`;
    const codes = (await loadErrors(yaml)).map((e) => e.code).sort();
    assert.deepEqual(codes, ['PARAM_TYPE', 'UNKNOWN_KEY', 'UNKNOWN_KIND', 'UNKNOWN_STAGE']);
  });
});

describe('formatConfigError', () => {
  it('prints file:line:col, severity, code, message, the line and a caret', () => {
    const text = 'stages:\n  a:\n    parms: {}\n';
    const e: ConfigError = { code: 'UNKNOWN_KEY', severity: 'error', message: "unknown key 'parms'", loc: { file: 'pipeline.yaml', line: 3, col: 5, length: 5 } };
    assert.equal(formatConfigError(e, text), "pipeline.yaml:3:5: error[UNKNOWN_KEY]: unknown key 'parms'\n 3 |     parms: {}\n   |     ^~~~~");
  });

  it('shows paths relative to the working directory, notes, and a count line', () => {
    const file = join(process.cwd(), 'sub', 'p.yaml');
    const e: ConfigError = {
      code: 'CYCLE',
      severity: 'error',
      message: 'cycle',
      loc: { file, line: 1, col: 1 },
      notes: [{ message: 'edge', loc: { file, line: 2, col: 3 } }],
    };
    const out = formatConfigErrors([e, { code: 'PATH_MISSING', severity: 'warning', message: 'missing' }], new Map([[file, 'x: 1\n  y: 2\n']]));
    assert.equal(out, `${join('sub', 'p.yaml')}:1:1: error[CYCLE]: cycle\n 1 | x: 1\n   | ^\n${join('sub', 'p.yaml')}:2:3: note: edge\n 2 |   y: 2\n   |   ^\n\nwarning[PATH_MISSING]: missing\n\n1 error, 1 warning`);
  });
});
