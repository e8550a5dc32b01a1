#!/usr/bin/env node
// Entry point of the `dag` command. Runs the compiled JavaScript of the current sources
// (scripts/build.mjs: built once per source change, keyed by the sources' bytes, so an
// edited source never runs stale code); without a build and without esbuild to make one,
// registers tsx and runs the TypeScript sources as they are.
import { pathToFileURL } from 'node:url';
import { compiledEntry } from '../scripts/build.mjs';

const entry = await compiledEntry();
if (entry) {
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
