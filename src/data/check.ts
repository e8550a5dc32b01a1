/**
 * The check behind `dag data check` (commands/data.ts): read a download through its adapter
 * without running anything and report images per class, groups, image sizes, unreadable
 * files (every image header is decoded with sharp metadata) and problems, so a user can check
 * a download before a long run. Returns the report's lines; the CLI prints them.
 */
import { availableParallelism } from 'node:os';
import { getAdapter } from './adapters/index.ts';
import { probeImageFile } from './decode.ts';
import { displayPath, readDataset, type PreprocessParams } from './preprocess.ts';
import { countItems, examples } from './types.ts';
import { symlinkProblems } from './fsutil.ts';
import { describeLinkProblem } from '../core/symlinks.ts';

/** The report of one check: its lines (for stdout) and the problems found (none = the download is fine). */
export interface DatasetCheck {
  readonly lines: string[];
  readonly problems: string[];
}

/**
 * An extra check of the class counts (the pipeline's folds and CCA asks, commands/data.ts):
 * each finding is a warning, or a problem when `fatal`.
 */
export type SizeCheck = (perClass: Record<string, number>) => ReadonlyArray<{ fatal: boolean; message: string }>;

/**
 * Check a data set download given as preprocess params. An unknown adapter throws (before
 * anything is read); a download the adapter cannot read is one problem in the report.
 */
export async function checkDataset(params: PreprocessParams, sizeCheck?: SizeCheck): Promise<DatasetCheck> {
  const problems: string[] = [];
  const lines: string[] = [];
  const out = (line: string): void => void lines.push(line);
  getAdapter(params.adapter);
  out(`adapter ${params.adapter}${params.root ? `, root ${params.root}` : ''}`);
  // Named before reading: the adapters skip or fail on them one by one.
  const links = typeof params.root === 'string' ? symlinkProblems(params.root) : [];
  for (const l of links) problems.push(`unusable symlink ${describeLinkProblem(l)}`);
  let data;
  try {
    data = await readDataset(params);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    for (const p of problems) out(`problem: ${p}`);
    out(`problem: ${code ? `[${String(code)}] ` : ''}${(e as Error).message}`);
    out(`${problems.length + 1} problem${problems.length ? 's' : ''}`);
    return { lines, problems: [...problems, String((e as Error).message)] };
  }
  const { perClass, groups, perGroupMax } = countItems(data);
  out(`images: ${data.items.length} in ${data.classes.length} classes`);
  const width = Math.max(...data.classes.map((c) => c.length));
  data.classes.forEach((c, i) => out(`  ${String(i).padStart(2)} ${c.padEnd(width)} ${String(perClass[c]).padStart(7)}`));
  out(groups === null ? 'groups: none (stratified folds)' : `groups: ${groups} (largest ${perGroupMax} images; grouped folds)`);
  for (const w of data.warnings) out(`warning: ${w}`);
  for (const s of sizeCheck?.(perClass) ?? []) {
    if (s.fatal) problems.push(s.message);
    else out(`warning: ${s.message}`);
  }
  if (data.missing.length > 0) problems.push(`${data.missing.length} listed file(s) missing: ${examples(data.missing)}`);

  // Decode every header, a few at a time.
  const files = [...new Set(data.items.filter((it) => !it.generate).map((it) => it.path))];
  const bad: string[] = [];
  const formats = new Map<string, number>();
  let minW = Infinity;
  let minH = Infinity;
  let maxW = 0;
  let maxH = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      try {
        const m = await probeImageFile(files[i]!);
        formats.set(m.format, (formats.get(m.format) ?? 0) + 1);
        minW = Math.min(minW, m.width);
        minH = Math.min(minH, m.height);
        maxW = Math.max(maxW, m.width);
        maxH = Math.max(maxH, m.height);
      } catch (e) {
        bad.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(8, availableParallelism() * 2)) }, worker));
  if (files.length > 0) {
    out(`files: ${files.length} (${[...formats].map(([f, n]) => `${f} ${n}`).join(', ') || 'none readable'})`);
    if (maxW > 0) out(`image sizes: ${minW}..${maxW} x ${minH}..${maxH} (w x h)`);
  }
  if (typeof params.size === 'number' && maxW > 0 && (minW < params.size || minH < params.size)) {
    out(`note: some images are smaller than --size ${params.size} and will be upsampled`);
  }
  if (bad.length > 0) {
    out(`unreadable: ${bad.length}`);
    for (const b of bad.slice(0, 20)) out(`  ${b}`);
    if (bad.length > 20) out(`  ... ${bad.length - 20} more`);
    problems.push(`${bad.length} unreadable image(s), e.g. ${displayPath(bad[0]!, undefined)}`);
  }
  for (const p of problems) out(`problem: ${p}`);
  out(problems.length === 0 ? 'OK: no problems found' : `${problems.length} problem(s)`);
  return { lines, problems };
}
