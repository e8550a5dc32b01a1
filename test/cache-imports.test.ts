/**
 * The import scanner (src/cache/imports.ts) that keys stage code and enforces the import rule:
 * checked against TypeScript's own pre-processor on every module of the repository, and on
 * the tricky shapes (type-only forms, comments, strings, regex and template literals).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { scanImports } from '../src/cache/imports.ts';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..');

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

test('finds exactly the imports TypeScript finds, in every module of the repository', () => {
  // arch-imports.test.ts plants import statements inside string literals, which TypeScript's
  // quick pre-processor (a heuristic) reports as imports; the scanner rightly does not.
  const files = ['src', 'stages', 'test', 'bench', 'scripts']
    .flatMap((d) => walk(join(ROOT, d), []))
    .filter((f) => !f.endsWith('arch-imports.test.ts'));
  let n = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const want = ts.preProcessFile(text, true, true).importedFiles.map((x) => x.fileName).sort();
    const got = scanImports(text).map((x) => x.spec).sort();
    assert.deepEqual(got, want, f);
    n += got.length;
  }
  assert.ok(n > 500, `only ${n} imports seen`);
});

test('tells type-only imports from runtime ones, and dynamic from static', () => {
  const src = [
    "import type { A } from './a.ts';",
    "import { type B, type C } from './b.ts';",
    "import D, { type E } from './d.ts';",
    "import { type F, G } from './f.ts';",
    "export type { H } from './h.ts';",
    "export { I } from './i.ts';",
    "export * as J from './j.ts';",
    "import * as K from 'k-pkg';",
    "import './side-effect.ts';",
    "type T = typeof import('./typeof.ts');",
    "const m = await import('./dyn.ts');",
    "const s = 'import x from \"./in-string.ts\"';",
    '// import y from "./in-comment.ts";',
    '/* import z from "./in-block-comment.ts"; */',
    "const re = /import ['\"]x/g; const t = `import ${'a'} from './in-template.ts'`;",
    'const url = import.meta.url;',
    "import type from './default-named-type.ts';",
  ].join('\n');
  const got = scanImports(src).map((i) => `${i.spec} ${i.typeOnly ? 'type' : 'value'} ${i.dynamic ? 'dynamic' : 'static'} @${i.line}`);
  assert.deepEqual(got, [
    './a.ts type static @1',
    './b.ts type static @2',
    './d.ts value static @3',
    './f.ts value static @4',
    './h.ts type static @5',
    './i.ts value static @6',
    './j.ts value static @7',
    'k-pkg value static @8',
    './side-effect.ts value static @9',
    './typeof.ts type dynamic @10',
    './dyn.ts value dynamic @11',
    './default-named-type.ts value static @17',
  ]);
});
