// Entry of a JPEG decode worker thread (pool.ts). Plain JavaScript so it starts under any
// parent. In a compiled build (scripts/build.mjs) the worker's JavaScript sits next to this
// file; from the sources it registers tsx itself (the `dag` bin registers tsx through its
// API, which a worker thread does not inherit), then loads the TypeScript worker.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('./worker.js', import.meta.url);
if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./worker.ts');
}
