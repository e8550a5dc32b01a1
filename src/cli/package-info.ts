/** Where the dag package lives and its version (read from package.json; node built-ins only). */
import { readFileSync } from 'node:fs';

/** The package root (the folder of package.json) as a file URL ending in `/`. */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

/** The `version` of package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
}
