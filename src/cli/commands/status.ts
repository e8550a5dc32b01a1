/** `dag status`: every instance cached, stale (and what changed), failed, corrupted, never run or missing input; preflight warnings. */
import { defineCommand } from '../../core/command.ts';
import { classifyWithFailure, STATUS_LABEL, STATUS_ORDER, type StatusKind } from '../instance-state.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

const zero = (): Record<StatusKind, number> => ({ cached: 0, stale: 0, failed: 0, never: 0, waiting: 0, missing: 0, corrupted: 0 });

export default defineCommand({
  description:
    'Every instance is cached, stale (with what changed, old -> new), failed (its last attempt, with the error), corrupted, ' +
    'never run or missing input. Per-stage counts first, then warnings the kinds find before running (a data set too small ' +
    'for the folds or CCA asked of it), then details (10 per group). Always exits 0.',
  pipeline: true,
  options: [
    { long: 'all', short: 'a', doc: 'list every instance, cached ones included' },
    { long: 'json', doc: 'one JSON object per instance' },
  ],
  async run({ options, output }) {
    const { plan, keys, cache } = await loadPipelineAndCache(options, output, { createCache: false });
    const { bold, dim, green, red, yellow } = output.style;
    const ids = [...plan.instances.keys()];
    const analysis = keys.analyze(ids);
    const rows = ids.map((id) => ({ id, stage: plan.instances.get(id)!.stage, ...classifyWithFailure(cache, id, analysis.get(id)!) }));
    // Problems the kinds can see before anything runs (a data set too small for the study).
    const { runPreflights } = await import('../preflight.ts');
    const preflight = await runPreflights(plan);
    if (options.json) {
      for (const r of rows) {
        const mine = preflight.filter((w) => w.id === r.id).map((w) => w.message);
        output.out(JSON.stringify(mine.length ? { ...r, preflight: mine } : r));
      }
      return 0;
    }
    const perStage = new Map<string, Record<StatusKind, number>>();
    const total = zero();
    for (const r of rows) {
      const c = perStage.get(r.stage) ?? zero();
      c[r.kind]++;
      total[r.kind]++;
      perStage.set(r.stage, c);
    }
    const cols = STATUS_ORDER.filter((k) => total[k] > 0 || k === 'cached' || k === 'stale' || k === 'never');
    const nameW = Math.max(5, ...[...perStage.keys()].map((s) => s.length));
    output.out(bold(`${plan.file}: ${rows.length} instances — ${cols.map((k) => `${total[k]} ${STATUS_LABEL[k]}`).join(', ')}`));
    output.out();
    output.out(`${'stage'.padEnd(nameW)}  ${cols.map((k) => STATUS_LABEL[k].padStart(9)).join(' ')}`);
    for (const [stage, c] of perStage) output.out(`${stage.padEnd(nameW)}  ${cols.map((k) => String(c[k] || '·').padStart(9)).join(' ')}`);
    if (preflight.length) {
      output.out();
      output.out(yellow(`warnings before running (${preflight.length}):`));
      for (const w of preflight) output.out(`  ${w.id}: ${w.message}`);
    }
    const limit = options.all ? Infinity : 10;
    for (const k of STATUS_ORDER) {
      if (k === 'cached' && !options.all) continue;
      const list = rows.filter((r) => r.kind === k);
      if (!list.length) continue;
      output.out();
      const color = k === 'cached' ? green : k === 'never' ? dim : k === 'missing' || k === 'corrupted' || k === 'failed' ? red : yellow;
      output.out(color(`${STATUS_LABEL[k]} (${list.length}):`));
      for (const r of list.slice(0, limit)) output.out(`  ${r.id}${r.detail && r.detail !== 'never run' ? `\n      ${dim(r.detail)}` : ''}`);
      if (list.length > limit) output.out(dim(`  … and ${list.length - limit} more (dag status --all)`));
    }
    return 0;
  },
});
