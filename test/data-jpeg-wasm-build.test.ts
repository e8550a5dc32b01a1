/**
 * The committed WebAssembly build of the scaled JPEG decoder (src/data/jpeg/entropy-wasm.ts)
 * must be what its AssemblyScript source compiles to: an edit to the source without
 * `npm run build:wasm` fails here instead of shipping a stale decoder.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileEntropyWasm, entropyModuleText } from '../scripts/build-wasm.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const hasAsc = existsSync(join(root, 'node_modules/assemblyscript/bin/asc.js'));

test('entropy-wasm.ts matches its AssemblyScript source', { skip: hasAsc ? false : 'assemblyscript (a devDependency) is not installed' }, () => {
  const committed = readFileSync(join(root, 'src/data/jpeg/entropy-wasm.ts'), 'utf8');
  assert.ok(committed === entropyModuleText(compileEntropyWasm()), 'src/data/jpeg/entropy-wasm.ts is stale: run npm run build:wasm');
});
