/** `dag verify`: re-hash every stored object; exit 1 if any is corrupted or missing. */
import { defineCommand } from '../../core/command.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

export default defineCommand({
  description:
    "Re-hashes every object in the store (full read) and checks that every run record's objects exist and every record is readable. Prints " +
    'CORRUPTED/MISSING/unreadable-record lines naming the instances that use them and exits 1 if any; the next dag run re-runs their producers.',
  pipeline: true,
  async run({ options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true, keys: false });
    const { formatBytes } = await import('../../reporters/format.ts');
    const { green, red } = output.style;
    if (!l.cache.layout.exists()) {
      output.out(`no cache at ${l.cache.dir} yet: nothing to verify`);
      return 0;
    }
    const res = l.cache.verify();
    const { verifyReport } = await import('../../cache/verify-report.ts');
    const report = verifyReport(res, (id) => l.plan.instances.has(id));
    for (const line of report.lines) output.out(line.bad ? red(line.text) : line.text);
    if (report.failing === 0) {
      output.out(green(`ok: ${res.checked} objects (${formatBytes(res.bytes)}) match their digests${report.lines.length ? ' (notes above need no action)' : ''}`));
      return 0;
    }
    output.out(`${report.failing} problem${report.failing === 1 ? '' : 's'} in ${res.checked} objects and their records`);
    return 1;
  },
});
