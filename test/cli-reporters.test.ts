/**
 * Reporters render engine events: plain lines (progress throttled, failures summarised),
 * NDJSON that parses back to the same events, and the live view (which must end with a
 * summary and leave no redraw timer behind). Also the ETA arithmetic.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { EngineEvent } from '../src/executor/events.ts';
import { estimateRemaining, formatBytes, formatDuration } from '../src/reporters/format.ts';
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

test('pretty reporter on a TTY: done lines, summary, timer stopped', () => {
  const out = sink(true);
  const r = createReporter('pretty', out);
  for (const e of EVENTS) r.handle(e);
  r.close();
  assert.match(out.text, /✔.* b .*1.5s on gpu 1/);
  assert.match(out.text, /✖.*c: BAD_DATA/);
  assert.match(out.text, /failed.*: 1 ran, 1 cached, 1 failed/);
});

test('ETA and formatting', () => {
  assert.equal(estimateRemaining(1000, { done: 1, total: 4 }, null), 3000);
  assert.equal(estimateRemaining(1000, { done: 0, total: 4 }, 5000), 4000, 'history before 5 % progress');
  assert.equal(estimateRemaining(1000, undefined, null), null);
  assert.equal(formatDuration(850), '850ms');
  assert.equal(formatDuration(245_000), '4m05s');
  assert.equal(formatBytes(1536), '1.5 KiB');
});
