/**
 * The import rule of the house (README "Layout of this repository", docs/engine.md):
 *
 * - `src/core/` (the ground floor: stage API, Json, plan types, ids) imports nothing of ours;
 * - the ENGINE (src/pipeline, src/graph, src/cache, src/executor, src/reporters, src/cli*)
 *   imports only itself and src/core;
 * - the STUDY (src/stats, src/data, src/ml, src/study, src/wasm) imports only itself and src/core;
 * - `stages/` and `commands/` import src/core and the study, never the engine;
 * - no two folders (src/<folder> with its sub-folders, stages, commands) import each other,
 *   directly or around a circle, and no two files do either.
 *
 * Every import counts here, type-only ones included: a type import is still a dependency
 * of the source. Imports are read from the text by src/cache/imports.ts (the scanner the
 * engine keys stage code with; test/cache-imports.test.ts checks it against TypeScript's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { scanImports } from '../src/cache/imports.ts';

/** A part of the house a file belongs to. */
type Layer = 'core' | 'engine' | 'study' | 'stages' | 'commands';

const ENGINE_DIRS = ['src/pipeline', 'src/graph', 'src/cache', 'src/executor', 'src/reporters'];
const STUDY_DIRS = ['src/stats', 'src/data', 'src/ml', 'src/study', 'src/wasm'];

/** Which layer each layer may import (besides itself). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  core: [],
  engine: ['core'],
  study: ['core'],
  stages: ['core', 'study'],
  commands: ['core', 'study'],
};

/** Temporary, listed exceptions: `from -> to` edges allowed although they cross the rule (none left). */
const EXCEPTIONS: ReadonlyArray<{ from: string; to: string; why: string }> = [];

/** The layer of a repository-relative path, or undefined for a src/ entry nobody classified. */
function layerOf(path: string): Layer | undefined {
  if (path.startsWith('src/core/')) return 'core';
  if (path.startsWith('stages/')) return 'stages';
  if (path.startsWith('commands/')) return 'commands';
  if (/^src\/cli[^/]*$/.test(path) || path.startsWith('src/cli/')) return 'engine';
  if (ENGINE_DIRS.some((d) => path.startsWith(d + '/'))) return 'engine';
  if (STUDY_DIRS.some((d) => path.startsWith(d + '/'))) return 'study';
  return undefined;
}

function walk(root: string, dir: string, out: string[]): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return out;
  for (const name of readdirSync(abs).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) walk(root, rel, out);
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** A rule violation, phrased for the failure message. */
interface Problem {
  file: string;
  line: number;
  spec: string;
  message: string;
}

/** Checks the tree under `root`; returns every forbidden edge and every folder cycle. */
function checkHouse(root: string): { problems: Problem[]; files: number; edges: number } {
  const files = ['src', 'stages', 'commands'].flatMap((d) => walk(root, d, []));
  const problems: Problem[] = [];
  /** area -> area -> one example edge; file -> file -> the edge. */
  const areaEdges: Graph = new Map();
  const fileEdges: Graph = new Map();
  let edges = 0;
  for (const file of files) {
    // AssemblyScript sources are compiled separately (scripts/build-wasm.ts), not imported.
    if (file.includes('/assembly/')) continue;
    const from = layerOf(file);
    if (from === undefined) {
      problems.push({ file, line: 1, spec: '', message: 'is in a folder the import rule does not classify (add it to test/arch-imports.test.ts and the README layout)' });
      continue;
    }
    for (const imp of scanImports(readFileSync(join(root, file), 'utf8'))) {
      if (!imp.spec.startsWith('.')) continue; // packages and node: builtins
      const target = normalize(join(dirname(file), imp.spec)).replaceAll('\\', '/');
      edges++;
      const to = layerOf(target);
      const where = { file, line: imp.line, spec: imp.spec };
      if (to === undefined) {
        problems.push({ ...where, message: `imports ${target}, outside src/, stages/ and commands/` });
        continue;
      }
      const ok = to === from || ALLOWED[from].includes(to) || EXCEPTIONS.some((e) => e.from === file && e.to === target);
      if (!ok) problems.push({ ...where, message: `${from} may not import ${to} (${target})` });
      addEdge(areaEdges, areaOf(file), areaOf(target), `${file}:${imp.line} -> ${imp.spec}`);
      addEdge(fileEdges, file, target, `${file}:${imp.line} -> ${imp.spec}`);
    }
  }
  for (const [what, g] of [['folders', areaEdges], ['files', fileEdges]] as const) {
    for (const cycle of cycles(g)) {
      const steps = cycle.map((f, i) => g.get(f)!.get(cycle[(i + 1) % cycle.length]!)!);
      problems.push({ file: cycle[0]!, line: 1, spec: '', message: `${what} import each other in a circle: ${cycle.join(' -> ')} -> ${cycle[0]} (${steps.join('; ')})` });
    }
  }
  return { problems, files: files.length, edges };
}

/** node -> node -> a description of one edge between them. */
type Graph = Map<string, Map<string, string>>;

function addEdge(g: Graph, a: string, b: string, what: string): void {
  if (a === b) return;
  let m = g.get(a);
  if (m === undefined) g.set(a, (m = new Map()));
  if (!m.has(b)) m.set(b, what);
}

/**
 * The area a file belongs to for the folder-cycle check: `src/<folder>` (its sub-folders
 * included: a sub-folder may use its parent's shared types), `src/cli` for the CLI files,
 * or the top-level folder (`stages`, `commands`).
 */
function areaOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : `src/${parts[1]!.replace(/[.-].*$/, '')}`;
  return parts[0]!;
}

/** One shortest circle through each strongly connected component of more than one node. */
function cycles(g: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(shortestCircle(comp.sort(), g));
    }
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** A shortest circle from the component's first node back to itself, along real edges. */
function shortestCircle(comp: string[], g: Graph): string[] {
  const inComp = new Set(comp);
  const start = comp[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    for (const w of [...(g.get(v)?.keys() ?? [])].sort()) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return comp; // unreachable: a component of several nodes has a circle through each
}

function describe(problems: Problem[]): string {
  return problems.map((p) => `${p.file}:${p.line}${p.spec ? ` import '${p.spec}'` : ''}: ${p.message}`).join('\n');
}

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..');

test('the repository follows the import rule (core / engine / study / stages / commands) and has no folder or file cycles', () => {
  const r = checkHouse(ROOT);
  assert.ok(r.files > 100 && r.edges > 300, `scanned too little: ${r.files} files, ${r.edges} edges`);
  assert.equal(r.problems.length, 0, `import rule broken:\n${describe(r.problems)}`);
});

test('every listed exception is still a real edge (stale exceptions are removed)', () => {
  for (const e of EXCEPTIONS) {
    const text = readFileSync(join(ROOT, e.from), 'utf8');
    const hit = scanImports(text).some((i) => normalize(join(dirname(e.from), i.spec)).replaceAll('\\', '/') === e.to);
    assert.ok(hit, `exception ${e.from} -> ${e.to} no longer needed: remove it from EXCEPTIONS`);
  }
});

test('the check fails on a planted forbidden import and on a planted folder cycle, naming file and import', () => {
  const root = mkdtempSync(join(tmpdir(), 'dag-arch-'));
  try {
    const put = (p: string, text: string): void => {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), text);
    };
    put('src/core/contract.ts', 'export type Json = null;\n');
    put('src/ml/net.ts', "import type { Json } from '../core/contract.ts';\nimport { plan } from '../pipeline/plan.ts';\n");
    put('src/pipeline/plan.ts', "export const plan = 1;\nimport { x } from '../graph/order.ts';\n");
    put('src/graph/order.ts', "export const x = 1;\nexport type { Y } from '../pipeline/plan.ts';\n");
    put('stages/train.ts', "import { run } from '../src/executor/scheduler.ts';\n");
    put('src/executor/scheduler.ts', 'export const run = 1;\n');
    put('src/core/ids.ts', "import { x } from '../graph/order.ts';\n");
    const r = checkHouse(root);
    const text = describe(r.problems);
    assert.match(text, /src\/ml\/net\.ts:2 import '\.\.\/pipeline\/plan\.ts': study may not import engine/);
    assert.match(text, /stages\/train\.ts:1 import '\.\.\/src\/executor\/scheduler\.ts': stages may not import engine/);
    assert.match(text, /src\/core\/ids\.ts:1 import '\.\.\/graph\/order\.ts': core may not import engine/);
    assert.match(text, /folders import each other in a circle: src\/graph -> src\/pipeline -> src\/graph \(src\/graph\/order\.ts:2 -> \.\.\/pipeline\/plan\.ts; src\/pipeline\/plan\.ts:2 -> \.\.\/graph\/order\.ts\)/);
    assert.match(text, /files import each other in a circle: src\/graph\/order\.ts -> src\/pipeline\/plan\.ts -> src\/graph\/order\.ts/);
    assert.doesNotMatch(text, /src\/ml\/net\.ts:1/); // study -> core is allowed
    assert.equal(r.problems.length, 5, text);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
