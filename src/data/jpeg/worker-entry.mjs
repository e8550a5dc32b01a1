// Entry of a JPEG decode worker thread (pool.ts). Plain JavaScript so it starts under any
// parent: it registers tsx itself (the `dag` bin registers tsx through its API, which a
// worker thread does not inherit), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
