/**
 * Reporters render engine events: plain lines (progress throttled, failures summarised),
 * NDJSON that parses back to the same events, and the live view (which must end with a
 * summary and leave no redraw timer behind). Also the ETA arithmetic.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { EngineEvent } from '../src/executor/events.ts';
import { formatBytes, formatDuration } from '../src/reporters/format.ts';
import { InstanceRate, instanceRemaining, runRemaining, StageDurations } from '../src/reporters/eta.ts';
import { fitId, visibleLength } from '../src/reporters/pretty.ts';
import { createReporter } from '../src/reporters/reporter.ts';

function sink(isTTY: boolean): Writable & { text: string; isTTY: boolean; columns: number } {
  const s = new Writable({
    write(chunk, _enc, cb) {
      s.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string; isTTY: boolean; columns: number };
  s.text = '';
  s.isTTY = isTTY;
  s.columns = 80;
  return s;
}

const t = 1_000_000;
const EVENTS: EngineEvent[] = [
  { type: 'plan', t, total: 3, ids: ['a', 'b', 'c'] },
  { type: 'cached', t, id: 'a', stage: 'a', key: 'k1' },
  { type: 'queued', t, id: 'b', stage: 'b', reason: { kind: 'changed', details: ['param lr: 0.1 -> 0.01'] } },
  { type: 'started', t, id: 'b', stage: 'b', device: { type: 'gpu', id: '1' }, etaMs: 2000 },
  { type: 'progress', t: t + 10, id: 'b', stage: 'b', progress: { done: 1, total: 4, unit: 'epoch' } },
  { type: 'progress', t: t + 20, id: 'b', stage: 'b', progress: { done: 2, total: 4, unit: 'epoch' } },
  { type: 'log', t, id: 'b', stage: 'b', level: 'warn', message: 'few images' },
  { type: 'done', t, id: 'b', stage: 'b', key: 'k2', durationMs: 1500, device: { type: 'gpu', id: '1' }, outputs: 2 },
  { type: 'failed', t, id: 'c', stage: 'c', durationMs: 10, error: { code: 'BAD_DATA', message: 'row 3: expected 2 columns' } },
  { type: 'summary', t, counts: { total: 3, done: 1, cached: 1, failed: 1, skipped: 0 }, durationMs: 1600, warnings: [{ id: 'b', message: 'few images' }], interrupted: false },
];

test('plain reporter: one line per state change, throttled progress, summary with failures', () => {
  const out = sink(false);
  const r = createReporter('pretty', out); // not a TTY: falls back to plain
  for (const e of EVENTS) r.handle(e);
  r.close();
  assert.match(out.text, /queued   b \(param lr: 0.1 -> 0.01\)/);
  assert.match(out.text, /started  b on gpu 1/);
  assert.equal(out.text.match(/progress b/g)?.length, 1, 'second update within 5 s is dropped');
  assert.match(out.text, /FAILED   c: BAD_DATA: row 3: expected 2 columns/);
  assert.match(out.text, /finished: 1 ran, 1 cached, 1 failed, 0 skipped in 1.6s/);
  assert.match(out.text, /failed c: BAD_DATA.*dag log 'c'/);
});

test('json reporter: NDJSON that parses back to the events', () => {
  const out = sink(false);
  const r = createReporter('json', out);
  for (const e of EVENTS) r.handle(e);
  const back = out.text.trim().split('\n').map((l) => JSON.parse(l) as EngineEvent);
  assert.deepEqual(back, EVENTS);
});

test('pretty reporter on a TTY: failures above the block, summary, cursor given back, timer stopped', async () => {
  const out = sink(true);
  const r = createReporter('pretty', out);
  for (const e of EVENTS.slice(0, 6)) r.handle(e);
  await new Promise((res) => setTimeout(res, 600)); // a frame or two of the live block
  assert.match(out.text, /▶ b .*50%/);
  for (const e of EVENTS.slice(6)) r.handle(e);
  r.close();
  assert.match(out.text, /✖.*c: BAD_DATA/);
  assert.match(out.text, /failed.*: 1 ran, 1 cached, 1 failed/);
  assert.ok(!/queued/.test(out.text), 'queued instances are counted, not listed');
  assert.ok(out.text.lastIndexOf('\x1b[?25h') > out.text.lastIndexOf('\x1b[?25l'), 'cursor shown again at the end');
});

test('ETA: from the measured rate of the remaining work, never a made-up 0', () => {
  const r = new InstanceRate();
  assert.equal(r.remainingMs(0), null, 'no report yet');
  r.update(10_000, { done: 1, total: 10, unit: 'batch', overall: { done: 10, total: 110 } });
  assert.equal(r.remainingMs(10_000), null, 'one report: no rate yet');
  r.update(12_000, { done: 3, total: 10, unit: 'batch', overall: { done: 30, total: 110 } });
  // 20 units in 2 s = 10/s; 80 units left -> 8 s (the per-epoch 3/10 is not the whole run).
  assert.equal(r.remainingMs(12_000), 8000);
  assert.equal(r.remainingMs(14_000), 6000, 'time since the last report counts');
  assert.equal(r.remainingMs(30_000), null, 'overdue: no ETA rather than 0');
  r.update(13_000, { done: 10, total: 10, overall: { done: 110, total: 110 } });
  assert.equal(r.remainingMs(13_000), null, 'work complete: finishing, no ETA');
  // Early stopping shrinks the total: the estimate follows.
  const s = new InstanceRate();
  s.update(0, { done: 0, total: 1, overall: { done: 10, total: 100 } });
  s.update(1000, { done: 0, total: 1, overall: { done: 20, total: 100 } });
  s.update(2000, { done: 0, total: 1, overall: { done: 30, total: 40 } });
  assert.equal(s.remainingMs(2000), 1000);
  // Before any progress, earlier runs' duration; nothing at all gives null.
  assert.equal(instanceRemaining(5000, 1000, new InstanceRate(), 10_000), 6000);
  assert.equal(instanceRemaining(20_000, 1000, new InstanceRate(), 10_000), null);
  assert.equal(instanceRemaining(5000, 1000, new InstanceRate(), null), null);
});

test('run ETA: stage means of this run, spread over the parallelism; unknown stage gives none', () => {
  const d = new StageDurations();
  d.finished('finetune', 10_000);
  d.finished('finetune', 20_000);
  d.prior('cca', 4000);
  // 2 running (5 s and 15 s left) + 3 finetune + 1 cca waiting = 20 + 45 + 4 = 69 s over 2 slots.
  assert.equal(runRemaining([{ stage: 'finetune', remaining: 5000, elapsed: 1 }, { stage: 'finetune', remaining: 15_000, elapsed: 1 }], ['finetune', 'finetune', 'finetune', 'cca'], d, 2), 34_500);
  assert.equal(runRemaining([], ['report'], d, 2), null, 'report never measured');
  assert.equal(runRemaining([{ stage: 'finetune', remaining: 40_000, elapsed: 1 }], [], d, 4), 40_000, 'at least the longest running instance');
});

test('ids fit the width: compact values, then a middle cut', () => {
  const id = 'finetune[dataset=xray,source=natural,freeze=false,fold=1]';
  assert.equal(fitId(id, 80), id);
  assert.equal(fitId(id, 40), 'finetune[xray,natural,false,1]');
  assert.equal(visibleLength(fitId(id, 20)), 20);
});

test('formatting', () => {
  assert.equal(formatDuration(850), '850ms');
  assert.equal(formatDuration(245_000), '4m05s');
  assert.equal(formatBytes(1536), '1.5 KiB');
});
