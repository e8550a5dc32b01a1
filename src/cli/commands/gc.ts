/** `dag gc`: delete what the current pipeline no longer references. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, defineCommand } from '../../core/command.ts';
import { loadPipelineAndCache } from '../pipeline.ts';

export default defineCommand({
  description:
    "Deletes what the current pipeline no longer references and prints the space reclaimed: keeps each instance's latest " +
    'run record and the record of its current key, their objects, and the work folders of instances waiting on upstream. ' +
    'Refuses while a live dag run holds a lock on the same cache.',
  pipeline: true,
  options: [
    { long: 'dry-run', short: 'n', doc: 'only report what would be removed' },
    { long: 'keep-all-versions', doc: 'keep every record of instances still in the pipeline' },
  ],
  async run({ options, output }) {
    const l = await loadPipelineAndCache(options, output, { createCache: false, quietWarnings: true });
    const { formatBytes } = await import('../../reporters/format.ts');
    if (!l.cache.layout.exists()) {
      output.out(`no cache at ${l.cache.dir} yet: nothing to collect`);
      return 0;
    }
    const { readLock, ownerAlive } = await import('../../cache/lock.ts');
    for (const n of readdirSync(l.cache.layout.locks)) {
      const held = readLock(join(l.cache.layout.locks, n));
      if (held && ownerAlive(held.owner)) throw new CommandError(`a dag run (pid ${held.owner.pid} on ${held.owner.host}) is using this cache; run gc when it is done`, 1);
    }
    const keepIds = new Set(l.plan.instances.keys());
    const keepKeys = new Set<string>();
    for (const id of keepIds) {
      const idx = l.cache.readIndex(id);
      if (idx) keepKeys.add(idx.key);
    }
    // Instances whose key cannot be computed yet (an upstream must run first) keep their work dirs.
    const pendingIds = new Set<string>();
    for (const [id, e] of l.keys.analyze(keepIds)) {
      if (e.state === 'cached' || e.state === 'run') keepKeys.add(e.key);
      else pendingIds.add(id);
    }
    if (options.keepAllVersions) for (const r of l.cache.allRecords()) if (keepIds.has(r.id)) keepKeys.add(r.key);
    const dryRun = Boolean(options.dryRun);
    const res = l.cache.gc(keepKeys, keepIds, { dryRun, pendingIds });
    output.out(
      `${dryRun ? 'would remove' : 'removed'} ${res.removedObjects} objects, ${res.removedRecords} run records, ${res.removedOther} other entries: ${formatBytes(res.bytes)} ${dryRun ? 'reclaimable' : 'reclaimed'}`,
    );
    return 0;
  },
});
