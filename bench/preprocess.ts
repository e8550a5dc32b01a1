/**
 * Preprocessing throughput: the whole preprocess stage (folder adapter, decode, resize,
 * arrays and thumbnails written) with `decode: exact` (sharp full decode, PIL-exact nearest)
 * and `decode: fast` (our DCT-domain scaled JPEG decoder on one worker thread per core) on N
 * generated 1024x1024 JPEGs resized to 224, interleaved with Pillow's
 * open/convert/resize(NEAREST) on the same files (bench/preprocess_pillow.py, run with
 * /usr/bin/python3 or $PYTHON; skipped with a message when PIL is missing) and Pillow with
 * `draft` (its own DCT scaling, the fair partner of fast). Prints medians over rounds, ratios
 * and the load average.
 *
 *   node --import tsx bench/preprocess.ts [--count 2000] [--size 224] [--src 1024] [--rounds 1] [--dir DIR]
 *
 * Generated files are cached in DIR (default $TMPDIR/dag-bench-preprocess-<src>) and reused.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSharp } from '../src/data/decode.ts';
import { runPreprocess } from '../src/data/preprocess.ts';
import { syntheticImage } from '../src/data/synthetic.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const count = Number(arg('count', '2000'));
const size = Number(arg('size', '224'));
const src = Number(arg('src', '1024'));
const dir = arg('dir', join(tmpdir(), `dag-bench-preprocess-${src}`));

/** Generate (or reuse) `count` distinct JPEGs: smooth synthetic scenes upscaled, with a per-file tone curve. */
async function ensureImages(): Promise<void> {
  const sharp = await loadSharp();
  const have = ['a', 'b'].map((c) => (existsSync(join(dir, c)) ? readdirSync(join(dir, c)).length : 0)).reduce((x, y) => x + y, 0);
  if (have >= count) return;
  console.log(`generating ${count} ${src}x${src} JPEGs in ${dir} (cached for later runs)...`);
  for (const c of ['a', 'b']) mkdirSync(join(dir, c), { recursive: true });
  const bases: Buffer[] = [];
  for (let b = 0; b < 16; b++) {
    const img = syntheticImage({ family: 'natural', classes: 6, count: 16, size: [256, 256], seed: 9 }, b, b % 6);
    const up = await sharp(img.data, { raw: { width: 256, height: 256, channels: 3 } }).resize(src, src, { kernel: 'cubic' }).raw().toBuffer();
    // Fine grain so the JPEGs carry photo-like high-frequency detail.
    for (let i = 0; i < up.length; i++) up[i] = Math.max(0, Math.min(255, up[i]! + (((i * 2654435761) >>> 24) % 17) - 8));
    bases.push(up);
  }
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const file = join(dir, i % 2 ? 'b' : 'a', `img-${String(i).padStart(5, '0')}.jpg`);
    if (existsSync(file)) continue;
    await sharp(bases[i % 16]!, { raw: { width: src, height: src, channels: 3 } })
      .linear(0.8 + ((i * 37) % 40) / 100, (i * 13) % 30)
      .jpeg({ quality: 90 })
      .toFile(file);
  }
  console.log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

interface Figure {
  images: number;
  wall: number;
  cpu: number;
}

/** One run of the preprocess stage with `decode` (whole stage: listing, decode, resize, arrays, thumbnails). */
async function runDag(decode: 'exact' | 'fast'): Promise<Figure> {
  const out = mkdtempSync(join(tmpdir(), 'dag-bench-out-'));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const m = await runPreprocess(
    { adapter: 'folder', root: dir, size, folds: 5, decode },
    { outDir: out, dataset: 'bench', progress: () => {}, log: () => {}, warn: (w) => console.warn(w) },
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  rmSync(out, { recursive: true, force: true });
  return { images: m.count, wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

/** One run of the Pillow script (mode 'full': the study's loader; 'draft': Pillow's own JPEG DCT scaling), or a reason it was skipped. */
function runPillow(python: string, mode: 'full' | 'draft'): (Figure & { pillow: string }) | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'preprocess_pillow.py');
  try {
    const res = JSON.parse(execFileSync(python, [script, dir, String(size), mode], { encoding: 'utf8' }).trim().split('\n').pop()!) as { images: number; seconds: number; cpu: number; pillow: string };
    return { images: res.images, wall: res.seconds, cpu: res.cpu, pillow: res.pillow };
  } catch (e) {
    const text = String((e as { stdout?: unknown }).stdout ?? (e as Error).message);
    return text.includes('PIL') ? 'PIL (Pillow) is not installed for ' + python + ' (apt-get install python3-pil)' : text.trim();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

async function main(): Promise<void> {
  await ensureImages();
  const sharp = await loadSharp();
  const rounds = Number(arg('rounds', '1'));
  const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  console.log(`machine: ${availableParallelism()} cores, load average ${load()}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`);
  console.log(`${count} JPEGs ${src}x${src} -> ${size}, ${rounds} round(s), each round interleaves: dag exact, Pillow, dag fast, Pillow draft`);
  const rates: Record<string, number[]> = { exact: [], fast: [], pillow: [], draft: [] };
  const perCpu: Record<string, number[]> = { exact: [], fast: [], pillow: [], draft: [] };
  let pillowVersion = '';
  let pillowSkipped = '';
  const show = (name: string, key: string, f: Figure): void => {
    rates[key]!.push(f.images / f.wall);
    perCpu[key]!.push(f.images / f.cpu);
    console.log(`  ${name.padEnd(44)} ${f.images} images in ${f.wall.toFixed(2)} s = ${(f.images / f.wall).toFixed(1)} images/s wall; ${(f.images / f.cpu).toFixed(1)} images per CPU-second   (load ${load()})`);
  };
  for (let r = 0; r < rounds; r++) {
    console.log(`round ${r + 1}:`);
    show('dag preprocess, decode: exact', 'exact', await runDag('exact'));
    const p = runPillow(python, 'full');
    if (typeof p === 'string') pillowSkipped = p;
    else {
      pillowVersion = p.pillow;
      show('Pillow open/convert/resize(NEAREST)', 'pillow', p);
    }
    show('dag preprocess, decode: fast', 'fast', await runDag('fast'));
    const d = runPillow(python, 'draft');
    if (typeof d !== 'string') show('Pillow draft (1/2..1/8 DCT)/resize(NEAREST)', 'draft', d);
  }
  const m = (k: string): number => median(rates[k]!);
  const c = (k: string): number => median(perCpu[k]!);
  console.log(`median images/s wall: exact ${m('exact').toFixed(1)}, fast ${m('fast').toFixed(1)}${pillowSkipped ? '' : `, Pillow ${pillowVersion} ${m('pillow').toFixed(1)}, Pillow draft ${m('draft').toFixed(1)}`}`);
  if (pillowSkipped) {
    console.log(`Pillow baseline skipped: ${pillowSkipped}`);
    return;
  }
  console.log(`ratio to Pillow (wall):           exact ${(m('exact') / m('pillow')).toFixed(2)}x, fast ${(m('fast') / m('pillow')).toFixed(2)}x   (target: 2x)`);
  console.log(`ratio to Pillow (per CPU-second): exact ${(c('exact') / c('pillow')).toFixed(2)}x, fast ${(c('fast') / c('pillow')).toFixed(2)}x`);
  console.log(`fast vs Pillow draft (both DCT-scaled, wall): ${(m('fast') / m('draft')).toFixed(2)}x; Pillow is one process, dag uses every core; on a shared machine wall figures depend on the load (end: ${load()})`);
}

await main();
