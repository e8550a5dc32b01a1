/**
 * Where the dag package lives, and whether this process runs its compiled JavaScript
 * (dist/<build>/, made by scripts/build.mjs) or its TypeScript sources through tsx. Code
 * digests are always taken from the `.ts` sources (PACKAGE_ROOT); modules are imported
 * from the compiled tree when there is one.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The folder of this module's tree root: the package root, or dist/<build> when compiled. */
const TREE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

/** The dag package folder (package.json, src/, stages/), also when running compiled. */
export const PACKAGE_ROOT = findPackageRoot(TREE_ROOT);

/** The compiled tree this process runs from, or null when it runs the sources. */
export const COMPILED_ROOT: string | null = TREE_ROOT === PACKAGE_ROOT ? null : TREE_ROOT;

/** The compiled `.js` counterpart of a package source file, when this process runs compiled and it exists. */
export function compiledModule(file: string): string | undefined {
  if (COMPILED_ROOT === null || !file.endsWith('.ts')) return undefined;
  const rel = relative(PACKAGE_ROOT, file);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('node_modules')) return undefined;
  const js = join(COMPILED_ROOT, rel.replace(/\.ts$/, '.js'));
  return existsSync(js) ? js : undefined;
}

/** Does importing this file need a TypeScript loader (a `.ts` file with no compiled counterpart)? */
export function needsTsLoader(file: string): boolean {
  return /\.[mc]?ts$/.test(file) && compiledModule(file) === undefined;
}

let tsxRegistered: Promise<void> | undefined;

/**
 * The URL to import a module file by: its compiled counterpart, else the file itself (a
 * plugin written in TypeScript; a compiled process then registers tsx first, once).
 */
export async function importableUrl(file: string): Promise<string> {
  const js = compiledModule(file);
  if (js) return pathToFileURL(js).href;
  if (COMPILED_ROOT !== null && needsTsLoader(file)) {
    tsxRegistered ??= import('tsx/esm/api').then((m) => void m.register());
    await tsxRegistered;
  }
  return pathToFileURL(file).href;
}
