/**
 * The report as a reader sees it: report.html written to a folder (the layout `dag export`
 * produces) and rendered in Debian's headless Chromium. Fails on any href/src that does not
 * resolve, on a figure that draws nothing, on console errors and on literal carets; takes a
 * full-page screenshot (its path is printed as a test diagnostic). A missing Chromium fails
 * the test naming `bash scripts/setup.sh`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../src/study/report.ts';
import { renderPage, requireChromium } from './fixtures/chromium.ts';
import { fakeResults, SYNTHETIC_DATA } from './fixtures/study-results.ts';

test('report.html renders in headless Chromium: every link resolves, every figure draws, superscripts not carets', { timeout: 120_000 }, async (t) => {
  requireChromium();
  const dir = mkdtempSync(join(tmpdir(), 'dag-report-browser-'));
  try {
    await writeReport(dir, { ...fakeResults(), data: SYNTHETIC_DATA }, { notes: ['seed: 0'] });
    const shot = join(tmpdir(), 'dag-report-screenshot.png');
    const page = await renderPage(join(dir, 'report.html'), { screenshot: shot });
    t.diagnostic(`screenshot: ${shot}`);
    assert.deepEqual(page.broken, [], 'every href/src resolves');
    assert.deepEqual(page.errors, [], 'no console errors or failed requests');
    assert.ok(page.links.filter((l) => l.startsWith('tables/')).length >= 8, `links to the tables: ${page.links.join(', ')}`);
    assert.ok(page.links.includes('figures/fig6_gain_vs_cca.png'));
    // fig3 for both targets, fig4, fig5, fig6: each laid out with a size and drawing marks.
    assert.equal(page.figures.length, 5, page.figures.map((f) => f.caption).join(' | '));
    for (const f of page.figures) assert.ok(f.width > 100 && f.height > 50 && f.marks > 0, `figure draws: ${JSON.stringify(f)}`);
    assert.ok(page.superscripts.includes('FT'), 'FT rendered as a superscript');
    assert.doesNotMatch(page.text, /\^FT|freezeFalse|freezeTrue/);
    assert.match(page.text.slice(0, 600), /Data: synthetic/);
    const sharp = (await import('sharp')).default;
    const meta = await sharp(shot).metadata();
    assert.ok((meta.width ?? 0) >= 1000 && (meta.height ?? 0) > 2000, `full-page screenshot ${meta.width}x${meta.height}`);

    // The check can fail: a report folder missing one of its tables is caught.
    unlinkSync(join(dir, 'tables', 'AUC.csv'));
    const broken = await renderPage(join(dir, 'report.html'));
    assert.equal(broken.broken.length, 1);
    assert.match(broken.broken[0]!, /^tables\/AUC\.csv \(no file /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing Chromium fails with the setup command, never skips', () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.throws(() => requireChromium(), /Run `bash scripts\/setup\.sh`/);
  } finally {
    process.env.PATH = path;
  }
  assert.ok(existsSync(requireChromium()));
});
