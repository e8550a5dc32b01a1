/**
 * The live view in a real pseudo-terminal (`script`, 80 x 24): the real CLI runs fixture
 * instances that report progress; the captured byte stream is split into frames and
 * checked: at most ~4 redraws a second, every redraw starting by moving up over the
 * previous block, the cursor hidden while drawing and shown at the end, no line wider
 * than the terminal, never "ETA 0ms", and queued instances counted rather than listed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { DAG_BIN, Project } from './fixtures/kinds/_rig.ts';

const hasScript = existsSync('/usr/bin/script');

test('live view in a pseudo-terminal: <= 4 frames/s, cursor restored, fits 80 columns, honest ETAs', { skip: !hasScript && 'needs script(1) (util-linux)' }, () => {
  const p = new Project(`stages:
  slow:
    uses: echo
    matrix: { x: [1, 2, 3] }
    params: { output: "\${x}", sleepMs: 2400 }
  after:
    uses: echo
    needs: [slow]
    params: { output: done }
`);
  const cmd = `stty cols 80 rows 24; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(DAG_BIN)} run -j 2`;
  const t0 = Date.now();
  const r = spawnSync('script', ['-qefc', cmd, '/dev/null'], { cwd: p.dir, env: { ...p.env(), TERM: 'xterm' }, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 24 });
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const raw = r.stdout; // what the terminal received
  assert.ok(raw.includes('\x1b[?25l'), 'cursor hidden while the block is live');
  assert.ok(raw.lastIndexOf('\x1b[?25h') > raw.lastIndexOf('\x1b[?25l'), 'cursor shown again at the end');
  // Frames after the first start by moving the cursor up over the block (CSI n F).
  const redraws = raw.match(/\x1b\[\d+F/g)?.length ?? 0;
  assert.ok(redraws >= 4, `the block was redrawn (${redraws} frames)`);
  assert.ok(redraws <= seconds * 4 + 2, `${redraws} redraws in ${seconds.toFixed(1)} s: more than 4 a second`);
  // eslint-disable-next-line no-control-regex
  const visible = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  for (const line of visible.split(/\r?\n/)) assert.ok([...line].length <= 80, `line wider than 80 columns: ${JSON.stringify(line)}`);
  assert.ok(!/ETA 0ms/.test(visible), 'no "ETA 0ms"');
  assert.ok(!/queued/.test(visible), 'queued instances are counted, not listed');
  assert.match(visible, /▶ slow\[x=\d\] .*\d+%/, 'running lines with bar and percent');
  assert.match(visible, /done: 4 ran, 0 cached, 0 failed, 0 skipped/);
});
