/**
 * Errors, not crashes (issue 13), through the real CLI: a full disk (a real 1 MiB tmpfs,
 * when this process may mount one) and a cache without write permission (the CLI run as
 * another user, when this process is root) give located messages, failure lines and a
 * non-zero exit without a stack trace, and lose nothing; read-only commands never write;
 * symlinks in a data folder are named (loop, dangling, escaping) by the run, `dag status`
 * and `dag data check`; `dag verify` names unreadable metadata and what the next run does,
 * and a repaired object leaves no corrupted copy behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DAG_BIN, Project } from './fixtures/kinds/_rig.ts';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

function noStack(text: string): void {
  assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, `a stack trace was printed:\n${text}`);
}

/** Every file under dir with size and mtime: proves a command wrote nothing. */
function snapshot(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = statSync(p);
      lines.push(`${p} ${st.size} ${st.mtimeMs} ${st.mode}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return lines.join('\n');
}

function mountTmpfs(dir: string, size: string): boolean {
  if (!isRoot) return false;
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

test('a full disk (real tmpfs) fails the instances with a located NO_SPACE line, no stack trace, nothing lost', async (t) => {
  const p = new Project(`stages:
  a:
    uses: echo
    params: { output: first }
  big:
    uses: echo
    needs: [a]
    params: { output: big, files: 200 }
  filler:
    uses: echo
    needs: [a]
    params: { output: filler, fill: cache/filler.bin }
`);
  const cache = join(p.dir, 'cache');
  if (!mountTmpfs(cache, '1m')) return t.skip('cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)');
  t.after(() => spawnSync('umount', ['-l', cache]));
  let r = await p.run(['run', 'a', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);

  // The worker fills the disk writing its outputs.
  r = await p.run(['run', 'big', '--reporter', 'plain']);
  assert.equal(r.code, 1);
  noStack(r.stdout + r.stderr);
  assert.match(r.stdout, /FAILED\s+big: NO_SPACE: while running the stage \(its outputs go to .*cache\/tmp\/.*\): no space left on the device \(ENOSPC/);

  // The stage succeeds but leaves the disk full: publishing in the main process fails.
  r = await p.run(['run', 'filler', '--reporter', 'plain']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  noStack(r.stdout + r.stderr);
  assert.match(r.stdout, /FAILED\s+filler: NO_SPACE: while publishing the outputs to the cache at .*cache \(nothing was recorded\): no space left on the device/);

  // Space freed: everything runs; `a` was never lost.
  spawnSync('rm', ['-f', join(cache, 'filler.bin')]);
  p.write(`stages:
  a:
    uses: echo
    params: { output: first }
  filler:
    uses: echo
    needs: [a]
    params: { output: filler }
`);
  p.takeInvocations();
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(p.takeInvocations(), ['filler']);
  r = await p.run(['verify']);
  assert.equal(r.code, 0, r.stdout);
});

test('read-only commands never write; a cache without write permission is a located NO_ACCESS failure', async (t) => {
  if (!isRoot) return t.skip('needs root to run the CLI as another user');
  const p = new Project(`stages:
  a:
    uses: echo
    params: { output: one }
  b:
    uses: echo
    needs: [a]
    params: { output: two }
`);
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  const cache = join(p.dir, 'cache');
  // Make every object look "changed" to the stat cache, so a command that re-hashes would
  // want to save the stat cache: it must not.
  spawnSync('chmod', ['-R', 'a+rX,a-w', cache]);
  chmodSync(p.dir, 0o755);
  chownSync(p.countFile, NOBODY, NOBODY);
  const before = snapshot(cache);
  const asNobody = (args: string[]) =>
    spawnSync(process.execPath, [DAG_BIN, ...args], {
      cwd: p.dir,
      env: p.env({ HOME: '/tmp' }),
      uid: NOBODY,
      gid: NOBODY,
      encoding: 'utf8',
    });
  for (const args of [['status'], ['verify'], ['ls'], ['show', 'b'], ['path', 'b', 'out.txt'], ['cat', 'a', 'out.txt'], ['log', 'a']]) {
    const x = asNobody(args);
    assert.equal(x.status, 0, `dag ${args.join(' ')} as nobody: ${x.stdout}${x.stderr}`);
    noStack(x.stdout + x.stderr);
  }
  assert.equal(snapshot(cache), before, 'a read-only command changed the cache');

  p.write(`stages:
  a:
    uses: echo
    params: { output: one-changed }
`);
  const x = asNobody(['run', '--reporter', 'plain']);
  assert.notEqual(x.status, 0);
  noStack(x.stdout + x.stderr);
  assert.match(x.stdout + x.stderr, /NO_ACCESS: .*permission denied \(EACCES, \w+ .*cache/);
});

test('symlinks in a data folder: followed inside it, named when they loop, dangle or escape', async () => {
  const p = new Project(`stages:
  a:
    uses: echo
    params: { output: x, input: data }
`);
  const data = join(p.dir, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  writeFileSync(join(data, 'img1.png'), 'one');
  symlinkSync('img1.png', join(data, 'alias.png')); // inside: followed
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stdout + r.stderr);

  symlinkSync('loop-b', join(data, 'loop-a'));
  symlinkSync('loop-a', join(data, 'loop-b'));
  symlinkSync('missing.png', join(data, 'sub', 'dangling.png'));
  symlinkSync('/etc/hostname', join(data, 'escape.png'));
  symlinkSync('..', join(data, 'sub', 'up'));
  const named = (text: string): void => {
    for (const n of ['loop-a', 'loop-b', 'sub/dangling.png', 'escape.png', 'sub/up']) assert.match(text, new RegExp(`${n.replace('.', '\\.')} ->`), `${n} not named in:\n${text}`);
    assert.match(text, /symlink loop/);
    assert.match(text, /dangling symlink/);
    assert.match(text, /points outside the folder/);
  };
  r = await p.run(['status']);
  assert.equal(r.code, 0, r.stderr);
  noStack(r.stdout + r.stderr);
  named(r.stdout);
  p.write(`stages:
  a:
    uses: echo
    params: { output: y, input: data }
`);
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 1);
  noStack(r.stdout + r.stderr);
  assert.match(r.stdout, /FAILED\s+a: INPUT_SYMLINK: 5 unusable symlinks in .*data/);
  named(r.stdout);

  // dag data check names the same links (the folder adapter: one sub-folder per class).
  const d = spawnSync(process.execPath, [DAG_BIN, 'data', 'check', '--adapter', 'folder', '--root', data], { cwd: p.dir, env: p.env(), encoding: 'utf8' });
  assert.equal(d.status, 1, d.stdout + d.stderr);
  noStack(d.stdout + d.stderr);
  named(d.stdout);
});

test('verify names unreadable records and index files and what the next run does; a repair leaves nothing corrupted behind', async () => {
  const p = new Project(`stages:
  a:
    uses: echo
    params: { output: hello, nonce: true }
  b:
    uses: echo
    needs: [a]
    params: { output: world }
`);
  let r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  // Corrupt a's object (its stage gives different bytes on every run).
  const obj = (await p.run(['path', 'a', 'out.txt'])).stdout.trim();
  chmodSync(obj, 0o644);
  writeFileSync(obj, 'garbage!');
  r = await p.run(['verify']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /CORRUPTED .*used by a\n\s+-> the next dag run re-runs a/);
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stderr);
  r = await p.run(['verify']);
  assert.equal(r.code, 0, `after the repair verify still fails:\n${r.stdout}`);
  assert.doesNotMatch(r.stdout, /CORRUPTED/);

  // Unreadable metadata: a truncated run record and an index entry of garbage.
  const runs = join(p.dir, 'cache', 'runs');
  const rec = readdirSync(runs).sort()[0]!;
  writeFileSync(join(runs, rec), readFileSync(join(runs, rec), 'utf8').slice(0, 40));
  const index = join(p.dir, 'cache', 'index');
  writeFileSync(join(index, readdirSync(index).sort()[0]!), '');
  r = await p.run(['verify']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`UNREADABLE run record .*${rec} \\(not valid JSON\\)\\n\\s+-> the next dag run treats that version as never run`));
  assert.match(r.stdout, /UNREADABLE index entry .* \(empty\)\n\s+-> nothing re-runs because of it/);
  r = await p.run(['run', '--reporter', 'plain']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  r = await p.run(['verify']);
  assert.equal(r.code, 0, r.stdout);
});
