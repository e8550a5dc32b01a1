/** `dag verify`: re-hash every stored object; exit 1 if any is corrupted or missing. */
import { defineCommand } from '../../core/command.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

export default defineCommand({
  description:
    "Re-hashes every object in the store (full read) and checks that every run record's objects exist. Prints " +
    'CORRUPTED/MISSING lines naming the instances that use them and exits 1 if any; the next dag run re-runs their producers.',
  pipeline: true,
  async run({ options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
    const { formatBytes } = await import('../../reporters/format.ts');
    const { green, red, dim } = output.style;
    if (!l.cache.layout.exists()) {
      output.out(`no cache at ${l.cache.dir} yet: nothing to verify`);
      return 0;
    }
    const res = l.cache.verify();
    if (res.problems.length === 0) {
      output.out(green(`ok: ${res.checked} objects (${formatBytes(res.bytes)}) match their digests`));
      return 0;
    }
    for (const p of res.problems) {
      output.out(red(`${p.problem === 'digest' ? 'CORRUPTED' : 'MISSING  '} ${p.object}`) + (p.usedBy.length ? dim(`  used by ${p.usedBy.join(', ')}`) : dim('  (unreferenced)')));
    }
    output.out(`${res.problems.length} problem${res.problems.length === 1 ? '' : 's'} in ${res.checked} objects; the next dag run re-runs the producers`);
    return 1;
  },
});
