/**
 * Preprocessing throughput: the preprocess stage (folder adapter, decode with sharp, PIL-exact
 * nearest resize, arrays written) on N generated 1024x1024 JPEGs resized to 224, beside
 * Pillow's open/convert/resize(NEAREST) on the same files (bench/preprocess_pillow.py, run
 * with /usr/bin/python3 or $PYTHON; skipped with a message when PIL is missing).
 *
 *   node --import tsx bench/preprocess.ts [--count 2000] [--size 224] [--src 1024] [--dir DIR]
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

async function main(): Promise<void> {
  await ensureImages();
  const sharp = await loadSharp();
  console.log(`machine: ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`);
  const out = mkdtempSync(join(tmpdir(), 'dag-bench-out-'));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const m = await runPreprocess(
    { adapter: 'folder', root: dir, size, folds: 5 },
    { outDir: out, dataset: 'bench', progress: () => {}, log: () => {}, warn: (w) => console.warn(w) },
  );
  const ours = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const oursCpu = (cpu.user + cpu.system) / 1e6;
  rmSync(out, { recursive: true, force: true });
  console.log(`dag preprocess: ${m.count} images ${src}->${size} in ${ours.toFixed(2)} s = ${(m.count / ours).toFixed(1)} images/s wall; CPU ${oursCpu.toFixed(2)} s = ${(m.count / oursCpu).toFixed(1)} images per CPU-second (whole stage: listing, decode, nearest resize, arrays, thumbnails)`);
  const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const script = join(dirname(fileURLToPath(import.meta.url)), 'preprocess_pillow.py');
  try {
    const res = JSON.parse(execFileSync(python, [script, dir, String(size)], { encoding: 'utf8' }).trim().split('\n').pop()!) as { images: number; seconds: number; cpu: number; pillow: string };
    const pil = res.images / res.seconds;
    console.log(`Pillow ${res.pillow} baseline (${python}): ${res.images} images in ${res.seconds.toFixed(2)} s = ${pil.toFixed(1)} images/s wall; CPU ${res.cpu.toFixed(2)} s = ${(res.images / res.cpu).toFixed(1)} images per CPU-second (open, convert RGB, resize NEAREST, copy; one process)`);
    console.log(`speed-up (wall): ${(m.count / ours / pil).toFixed(2)}x; per CPU-second: ${(m.count / oursCpu / (res.images / res.cpu)).toFixed(2)}x; on a shared machine the wall figure depends on the load`);
  } catch (e) {
    const text = String((e as { stdout?: unknown }).stdout ?? (e as Error).message);
    console.log(`Pillow baseline skipped: ${text.includes('PIL') ? 'PIL (Pillow) is not installed for ' + python + ' (apt-get install python3-pil)' : text.trim()}`);
  }
}

await main();
