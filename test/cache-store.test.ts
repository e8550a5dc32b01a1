/**
 * Unit tests of the cache: canonical JSON, key preimage diffs, the stat cache (no
 * re-hash of unchanged files, re-hash on change, persisted), per-key locks with stale
 * detection, and publishing with integrity checks.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { canonicalJson } from '../src/core/json.ts';
import type { CacheKey, Digest } from '../src/cache/digest.ts';
import { cacheKey, describeChange, diffPreimages, KEY_SCHEMA_VERSION, type KeyPreimage } from '../src/cache/key.ts';
import { CacheLayout } from '../src/cache/layout.ts';
import { heartbeat, readLock, tryLock, unlock } from '../src/cache/lock.ts';
import { StatCache } from '../src/cache/stat-cache.ts';
import { LocalCache } from '../src/cache/store.ts';

const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'dag-cache-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const old = (file: string): void => utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

test('canonicalJson is independent of key order and rejects NaN', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.throws(() => canonicalJson(Number.NaN));
});

test('diffPreimages names the changed field old -> new', () => {
  const base: KeyPreimage = {
    schema: KEY_SCHEMA_VERSION,
    kind: 'k',
    code: { version: null, files: { 'stages/k.ts': 'aa' as Digest } },
    params: { lr: 0.1, opt: { momentum: 0.9 } },
    inputs: { 'up[x=1]': 'd1' as Digest },
    external: { data: 'e1' },
    seed: 0,
    runtime: { backend: 'cpu' },
  };
  const next: KeyPreimage = structuredClone(base);
  next.params = { lr: 0.01, opt: { momentum: 0.9 }, extra: true };
  next.inputs = { 'up[x=1]': 'd2' as Digest };
  next.code.files = { 'stages/k.ts': 'bb' as Digest };
  const lines = diffPreimages(base, next).map(describeChange);
  assert.deepEqual(lines, ['param lr: 0.1 -> 0.01', 'param extra: (unset) -> true', 'upstream output changed: up[x=1]', 'code changed: stages/k.ts']);
  assert.notEqual(cacheKey(base), cacheKey(next));
  assert.equal(cacheKey(base), cacheKey(structuredClone(base)));
});

test('stat cache: unchanged folder is not re-hashed, a changed file is, and it persists', () => {
  const dir = tmp();
  const layout = new CacheLayout(join(dir, 'cache'));
  layout.ensure();
  const data = join(dir, 'images');
  mkdirSync(join(data, 'sub'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(data, i % 2 ? 'sub' : '', `img${i}.png`), `image ${i}`);
  for (let i = 0; i < 20; i++) old(join(data, i % 2 ? 'sub' : '', `img${i}.png`));
  const s1 = new StatCache(layout);
  const d1 = s1.digestPath(data);
  assert.equal(d1.type, 'dir');
  assert.equal(s1.hashedFiles, 20);
  const d2 = s1.digestPath(data);
  assert.deepEqual(d2, d1);
  assert.equal(s1.hashedFiles, 20, 'second digest re-hashed nothing');
  s1.save();

  const s2 = new StatCache(layout); // a new process
  assert.deepEqual(s2.digestPath(data), d1);
  assert.equal(s2.hashedFiles, 0, 'persisted entries are reused');

  writeFileSync(join(data, 'img0.png'), 'image X'); // same size, new content
  old(join(data, 'img0.png')); // even with an old mtime, ctime changed
  const d3 = s2.digestPath(data);
  assert.equal(s2.hashedFiles, 1);
  assert.notDeepEqual(d3, d1);
  assert.deepEqual(s2.digestPath(join(dir, 'nope')), { type: 'missing' });
});

test('locks: held by a live owner, broken when the owner is dead', () => {
  const dir = tmp();
  const layout = new CacheLayout(join(dir, 'cache'));
  layout.ensure();
  const key = 'k'.repeat(64) as CacheKey;
  assert.equal(tryLock(layout, key), true);
  assert.equal(tryLock(layout, key), false, 'held by this (live) process');
  assert.equal(readLock(layout.lockPath(key))?.owner.pid, process.pid);
  unlock(layout, key);
  assert.equal(existsSync(layout.lockPath(key)), false);

  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  writeFileSync(layout.lockPath(key), JSON.stringify({ pid: deadPid, host: hostname(), procStart: '1', lockedAt: new Date().toISOString() }));
  assert.equal(tryLock(layout, key), true, 'stale lock of a dead process is broken');
  assert.equal(readLock(layout.lockPath(key))?.owner.pid, process.pid);
  unlock(layout, key);
});

test('locks of other hosts (Slurm jobs on a shared cache): alive while their heartbeat is fresh, broken once it is stale', () => {
  const dir = tmp();
  const layout = new CacheLayout(join(dir, 'cache'));
  layout.ensure();
  const key = 'j'.repeat(64) as CacheKey;
  const file = layout.lockPath(key);
  writeFileSync(file, JSON.stringify({ pid: 1, host: 'node-elsewhere', procStart: '1', lockedAt: new Date().toISOString(), jobId: '4711_3' }));
  assert.equal(tryLock(layout, key), false, 'a fresh heartbeat on another host counts as alive');
  const old = new Date(Date.now() - 120_000);
  utimesSync(file, old, old); // its node died: no heartbeat for two minutes
  assert.equal(tryLock(layout, key), true, 'a stale heartbeat is broken on any host');
  assert.equal(readLock(file)?.owner.host, hostname());
  utimesSync(file, old, old);
  assert.equal(heartbeat(layout, key), true, 'the holder refreshes its heartbeat');
  assert.ok(Date.now() - readLock(file)!.heartbeatMs < 10_000);
  unlock(layout, key);
  // A tmp entry of another host is never swept by this one, even when that pid is dead here.
  const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const foreign = join(layout.tmp, `${deadPid}-h00000000-abcdef-out`);
  const local = layout.tmpPath('out').replace(`${process.pid}-`, `${deadPid}-`);
  mkdirSync(foreign);
  mkdirSync(local);
  new LocalCache(join(dir, 'cache')).sweepTmp();
  assert.equal(existsSync(foreign), true, 'another host\'s entry is kept');
  assert.equal(existsSync(local), false, 'this host\'s entry of a dead pid is swept');
});

test('publish moves outputs into objects by digest; checks catch corruption and loss', () => {
  const dir = tmp();
  const cache = new LocalCache(join(dir, 'cache'));
  assert.equal(readFileSync(join(dir, 'cache', 'VERSION'), 'utf8'), 'dag-cache 1\n');
  const out = join(dir, 'out');
  mkdirSync(join(out, 'acts'), { recursive: true });
  writeFileSync(join(out, 'a.txt'), 'alpha');
  writeFileSync(join(out, 'acts', 'b.bin'), 'beta');
  writeFileSync(join(out, 'dup.txt'), 'alpha');
  const outputs = cache.publishDir(out);
  assert.deepEqual(Object.keys(outputs), ['a.txt', 'acts/b.bin', 'dup.txt']);
  assert.equal(outputs['a.txt']!.digest, outputs['dup.txt']!.digest, 'deduplicated');
  assert.equal(readFileSync(cache.objectPath(outputs['acts/b.bin']!.digest), 'utf8'), 'beta');
  const record = { outputs } as Parameters<LocalCache['checkOutputs']>[0];
  assert.deepEqual(cache.checkOutputs(record), { ok: true });
  const f = cache.objectPath(outputs['acts/b.bin']!.digest);
  chmodSync(f, 0o644);
  writeFileSync(f, 'BETA');
  assert.deepEqual(cache.checkOutputs(record), { ok: false, bad: [{ path: 'acts/b.bin', problem: 'digest' }] });
  const v = cache.verify();
  assert.deepEqual(v.problems, [{ object: f, problem: 'digest', usedBy: [] }]);
  rmSync(f);
  assert.deepEqual(cache.checkOutputs(record), { ok: false, bad: [{ path: 'acts/b.bin', problem: 'missing' }] });
});
