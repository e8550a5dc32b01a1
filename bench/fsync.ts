/**
 * Cost of fsync in the publish step (issue 13): replays the publication of every run record
 * of an existing cache (e.g. the default pipeline's 94 instances: `npx dag run` first) into
 * scratch caches on the same file system, once with fsync (the default) and once with
 * `DAG_NO_FSYNC=1`, alternating, and prints the time of `publishDir` + `writeRecord` summed
 * over all instances. Copying the outputs into the out folders is not timed.
 *
 *   node --import tsx bench/fsync.ts [CACHE=cache] [REPEATS=3]
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LocalCache, type RunRecord } from '../src/cache/store.ts';

const source = resolve(process.argv[2] ?? 'cache');
const repeats = Number(process.argv[3] ?? 3);
const src = new LocalCache(source, { create: false });
const records = src.allRecords();
if (records.length === 0) throw new Error(`${source} has no run records: run the pipeline first`);
const bytes = records.reduce((a, r) => a + Object.values(r.outputs).reduce((b, o) => b + o.size, 0), 0);

function publishAll(fsync: boolean): number {
  if (fsync) delete process.env.DAG_NO_FSYNC;
  else process.env.DAG_NO_FSYNC = '1';
  const scratch = mkdtempSync(join(dirname(source), '.bench-fsync-'));
  try {
    const cache = new LocalCache(scratch);
    let ms = 0;
    for (const r of records) {
      const out = cache.layout.tmpPath('out');
      for (const [p, o] of Object.entries(r.outputs)) {
        mkdirSync(dirname(join(out, p)), { recursive: true });
        copyFileSync(src.objectPath(o.digest), join(out, p));
      }
      const t0 = performance.now();
      const outputs = cache.publishDir(out);
      const rec: RunRecord = { ...r, outputs };
      cache.writeRecord(rec);
      ms += performance.now() - t0;
      rmSync(out, { recursive: true, force: true });
    }
    return ms;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const on: number[] = [];
const off: number[] = [];
for (let i = 0; i < repeats; i++) {
  off.push(publishAll(false));
  on.push(publishAll(true));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fs = statSync(source);
console.log(`publish step of ${records.length} instances (${(bytes / 1048576).toFixed(1)} MiB of outputs) from ${source} (dev ${fs.dev}), median of ${repeats}:`);
console.log(`  without fsync (DAG_NO_FSYNC=1): ${median(off).toFixed(0)} ms  (${(median(off) / records.length).toFixed(2)} ms/instance)  runs: ${off.map((x) => x.toFixed(0)).join(', ')}`);
console.log(`  with fsync (default):           ${median(on).toFixed(0)} ms  (${(median(on) / records.length).toFixed(2)} ms/instance)  runs: ${on.map((x) => x.toFixed(0)).join(', ')}`);
console.log(`  cost of fsync: ${(median(on) - median(off)).toFixed(0)} ms over the run`);
