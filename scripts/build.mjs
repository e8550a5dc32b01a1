// Compiled start-up for `dag` (plain JavaScript: bin/dag.js imports it before any TypeScript
// loader exists). Every `.ts` module under src/ and stages/ is transpiled one-to-one with
// esbuild into dist/<build id>/ (same relative paths, `.ts` import specifiers rewritten to
// `.js`), so a start imports plain JavaScript instead of transpiling through tsx.
//
// The build id is a sha256 over the path and the BYTES of every source file (and of this
// script and esbuild's version), recomputed at every start (~10 ms): an edited source has a
// new id, whose build does not exist yet, so a stale build can never run. A missing build is
// made on the spot (esbuild is a dependency, and tsx's; about a second, once per change),
// written to a temporary folder and renamed into place, so concurrent starts never see half
// a build. Where the package folder is read-only (a root-owned global install), or with
// DAG_NO_BUILD=1, dag runs from the sources through tsx: correct, only slower. `npm install`
// in a clone builds once (`prepare`).
//
//   node scripts/build.mjs          build (if needed) and print the build folder
//   node scripts/build.mjs --clean  remove every build
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The dag package folder. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where builds live (git-ignored). */
export const DIST = join(ROOT, 'dist');
/** Source folders that are compiled. */
const SOURCE_DIRS = ['src', 'stages'];
/** Builds kept besides the current one (a long `dag run` may still fork workers from its build). */
const KEEP_OLD_BUILDS = 3;

/** Is this a module the build compiles (TypeScript, not a declaration, test or AssemblyScript source)? */
function isCompiled(rel) {
  return rel.endsWith('.ts') && !rel.endsWith('.d.ts') && !rel.endsWith('.test.ts') && !rel.split(sep).includes('assembly');
}

/** Plain JavaScript modules copied as they are (e.g. worker-thread entries). */
function isCopied(rel) {
  return rel.endsWith('.mjs') && !rel.split(sep).includes('assembly');
}

/** Every source file of the build, relative to ROOT, sorted. */
export function sourceFiles(root = ROOT) {
  const out = [];
  for (const top of SOURCE_DIRS) {
    const dir = join(root, top);
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const rel = relative(root, join(e.parentPath ?? e.path, e.name));
      if (isCompiled(rel) || isCopied(rel)) out.push(rel);
    }
  }
  return out.sort();
}

function esbuildVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** The build id of the sources as they are now. */
export function buildId(files = sourceFiles()) {
  const h = createHash('sha256');
  h.update(`dag-build 1\0${esbuildVersion() ?? 'no-esbuild'}\0`);
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const rel of files) {
    h.update(`\0${rel}\0`);
    h.update(readFileSync(join(ROOT, rel)));
  }
  return h.digest('hex').slice(0, 16);
}

/** esbuild plugin: every import stays an import; relative `.ts` specifiers become `.js`. */
const keepImports = {
  name: 'dag-keep-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const rel = args.path.startsWith('./') || args.path.startsWith('../');
      return { path: rel ? args.path.replace(/\.ts$/, '.js') : args.path, external: true };
    });
  },
};

/** Build into dist/<id> (atomically); resolves to that folder. */
export async function build(id = buildId(), files = sourceFiles()) {
  const target = join(DIST, id);
  if (existsSync(join(target, '.complete'))) return target;
  const esbuild = await import('esbuild');
  mkdirSync(DIST, { recursive: true });
  const tmp = join(DIST, `.tmp-${process.pid}-${Date.now()}`);
  try {
    await esbuild.build({
      entryPoints: files.filter(isCompiled).map((f) => join(ROOT, f)),
      outdir: tmp,
      outbase: ROOT,
      bundle: true, // only so that onResolve sees the imports; the plugin keeps every one external
      plugins: [keepImports],
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'error',
    });
    for (const f of files.filter(isCopied)) {
      mkdirSync(dirname(join(tmp, f)), { recursive: true });
      writeFileSync(join(tmp, f), readFileSync(join(ROOT, f)));
    }
    writeFileSync(join(tmp, '.complete'), `${id}\n`);
    try {
      renameSync(tmp, target);
    } catch (e) {
      // Another process finished the same build first: theirs is identical.
      if (!existsSync(join(target, '.complete'))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneOldBuilds(id);
  return target;
}

function pruneOldBuilds(current) {
  let builds;
  try {
    builds = readdirSync(DIST)
      .filter((n) => n !== current && !n.startsWith('.'))
      .map((n) => ({ n, t: statSync(join(DIST, n)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
  } catch {
    return;
  }
  for (const { n } of builds.slice(KEEP_OLD_BUILDS)) rmSync(join(DIST, n), { recursive: true, force: true });
}

/**
 * The compiled CLI entry for the sources as they are now: builds it when missing and
 * esbuild is available; null when dag must run from the sources (DAG_NO_BUILD=1, or no
 * esbuild and no matching build).
 */
export async function compiledEntry() {
  if (process.env.DAG_NO_BUILD === '1') return null;
  const files = sourceFiles();
  const id = buildId(files);
  const entry = join(DIST, id, 'src', 'cli.js');
  if (existsSync(join(DIST, id, '.complete'))) return entry;
  if (esbuildVersion() === null) return null;
  try {
    await build(id, files);
    return entry;
  } catch (e) {
    // A read-only install (e.g. global, root-owned) cannot hold a build: run through tsx quietly.
    const code = /** @type {{code?: string}} */ (e).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') {
      process.stderr.write(`dag: could not compile the sources (${e instanceof Error ? e.message.split('\n')[0] : e}); running them through tsx\n`);
    }
    return null;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--clean')) {
    rmSync(DIST, { recursive: true, force: true });
  } else {
    const t = Date.now();
    const dir = await build();
    process.stdout.write(`${relative(process.cwd(), dir) || dir} (${Date.now() - t} ms)\n`);
  }
}

