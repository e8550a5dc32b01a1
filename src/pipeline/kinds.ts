/**
 * Stage-kind discovery: the built-in kinds are every `*.ts` module in the project's
 * `stages/` folder, plus plugin modules named in `pipeline.yaml`. Each module
 * default-exports a StageKind; a module that fails to import or exports something else is
 * a ConfigError naming the module, reported with everything else.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StageKind } from '../core/contract.ts';
import { displayPath, type ConfigError } from './errors.ts';
import type { LoadedKind, SourceLocation } from '../core/plan.ts';

/** The dag package folder (holds package.json, `stages/`, `src/`), found from this module's URL. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder of built-in stage kinds. */
export const BUILTIN_STAGES_DIR = join(PROJECT_ROOT, 'stages');

/** A plugin module named in `plugins:`, with where it was named. */
export interface PluginRef {
  /** Path as written, resolved relative to `baseDir`. */
  spec: string;
  loc?: SourceLocation;
}

/** What to load. */
export interface LoadStageKindsOptions {
  /** Folder of built-in kinds (default `<project root>/stages`); every `*.ts` except `_*` and `*.d.ts`/`*.test.ts`. */
  stagesDir?: string;
  plugins?: readonly PluginRef[];
  /** Folder plugin paths and plugin codeDeps are relative to (the pipeline file's folder). */
  baseDir?: string;
  /**
   * Kinds the pipeline uses. When given, only the built-in modules named after them are
   * imported (a kind lives in `stages/<kind>.ts`), which keeps a no-op `dag run` from paying
   * for every stage module; if one stays unresolved, every built-in is loaded after all so
   * the unknown-kind message can list them and suggest the closest.
   */
  wanted?: ReadonlySet<string>;
}

/** Loaded kinds by name, and the problems met while loading them. */
export interface LoadedKinds {
  kinds: Map<string, LoadedKind>;
  /** Problems, each with the absolute path of the module concerned. */
  errors: Array<ConfigError & { file?: string }>;
}

function isStageKind(x: unknown): x is StageKind<any> {
  if (typeof x !== 'object' || x === null) return false;
  const k = x as Record<string, unknown>;
  return typeof k.kind === 'string' && k.kind !== '' && typeof k.run === 'function' && typeof k.params === 'object' && k.params !== null;
}

/** The built-in stage module files, sorted by name (deterministic kind order for `dag kinds`). */
export function builtinStageFiles(stagesDir: string = BUILTIN_STAGES_DIR): string[] {
  if (!existsSync(stagesDir)) return [];
  return readdirSync(stagesDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts') && !f.startsWith('_'))
    .sort()
    .map((f) => join(stagesDir, f));
}

async function importKind(file: string, loc: SourceLocation | undefined, label: string): Promise<{ kind?: StageKind<any>; error?: ConfigError & { file: string } }> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { error: { code: 'KIND_LOAD', severity: 'error', loc, file, message: `${label} ${displayPath(file)} failed to import: ${why}` } };
  }
  if (!isStageKind(mod.default)) {
    return {
      error: {
        code: 'KIND_INVALID',
        severity: 'error',
        loc,
        file,
        message: `${label} ${displayPath(file)} must default-export a StageKind ({ kind, doc, params, run }); use \`export default defineStage({...})\``,
      },
    };
  }
  return { kind: mod.default };
}

/**
 * Import the built-in kinds and the plugins (in parallel) and index them by `kind` name.
 * Plugin codeDeps resolve relative to `baseDir`, built-in ones relative to the project root.
 */
export async function loadStageKinds(opts: LoadStageKindsOptions = {}): Promise<LoadedKinds> {
  if (opts.wanted !== undefined) {
    const wanted = opts.wanted;
    const some = await loadKindModules(opts, (file) => wanted.has(basename(file, '.ts')));
    if ([...wanted].every((k) => some.kinds.has(k))) return some;
  }
  return loadKindModules(opts, () => true);
}

async function loadKindModules(opts: LoadStageKindsOptions, builtinFilter: (file: string) => boolean): Promise<LoadedKinds> {
  const stagesDir = opts.stagesDir ?? BUILTIN_STAGES_DIR;
  const baseDir = opts.baseDir ?? process.cwd();
  const jobs: Array<{ file: string; loc?: SourceLocation; label: string; root: string }> = builtinStageFiles(stagesDir).filter(builtinFilter).map((file) => ({
    file,
    label: 'stage module',
    root: opts.stagesDir === undefined ? PROJECT_ROOT : dirname(stagesDir),
  }));
  const errors: LoadedKinds['errors'] = [];
  for (const p of opts.plugins ?? []) {
    const file = resolve(baseDir, p.spec);
    if (!existsSync(file)) {
      errors.push({ code: 'KIND_LOAD', severity: 'error', loc: p.loc, file, message: `plugin module ${p.spec} not found (looked for ${file})` });
      continue;
    }
    jobs.push({ file, loc: p.loc, label: 'plugin module', root: baseDir });
  }
  const loaded = await Promise.all(jobs.map((j) => importKind(j.file, j.loc, j.label)));
  const kinds = new Map<string, LoadedKind>();
  loaded.forEach((r, i) => {
    const job = jobs[i]!;
    if (r.error !== undefined) errors.push(r.error);
    if (r.kind === undefined) return;
    const prev = kinds.get(r.kind.kind);
    if (prev !== undefined) {
      errors.push({ code: 'DUPLICATE_KIND', severity: 'error', loc: job.loc, file: job.file, message: `stage kind '${r.kind.kind}' is defined twice: by ${displayPath(prev.file)} and by ${displayPath(job.file)}` });
      return;
    }
    kinds.set(r.kind.kind, { kind: r.kind, file: job.file, codeDeps: (r.kind.codeDeps ?? []).map((d) => resolve(job.root, d)) });
  });
  return { kinds, errors };
}
