/**
 * File-system failures (full disk, no permission, read-only mount) turned into one located
 * line with a stable code, so `dag run` reports them on the instance that hit them and exits
 * non-zero without a stack trace, instead of crashing.
 */

/** Stable codes of the file-system failures a user can fix. */
export type FsFailureCode = 'NO_SPACE' | 'NO_ACCESS' | 'READ_ONLY' | 'IO_ERROR' | 'NAME_TOO_LONG';

const CODES: Record<string, { code: FsFailureCode; what: string; fix: string }> = {
  ENOSPC: { code: 'NO_SPACE', what: 'no space left on the device', fix: 'free space (dag gc reclaims unreferenced objects) and run again' },
  EDQUOT: { code: 'NO_SPACE', what: 'disk quota exceeded', fix: 'free space or raise the quota and run again' },
  EACCES: { code: 'NO_ACCESS', what: 'permission denied', fix: 'fix the permissions (or use another --cache) and run again' },
  EPERM: { code: 'NO_ACCESS', what: 'operation not permitted', fix: 'fix the permissions (or use another --cache) and run again' },
  EROFS: { code: 'READ_ONLY', what: 'read-only file system', fix: 'use a writable --cache and run again' },
  EIO: { code: 'IO_ERROR', what: 'input/output error', fix: 'check the device and run again' },
  ENAMETOOLONG: { code: 'NAME_TOO_LONG', what: 'file name too long', fix: 'shorten the names that end up in file names' },
};

/** A Node errno error we know how to explain (the ones above). */
export function isFsFailure(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code! in CODES;
}

/** `{code, message}` for a known errno error: `while <doing>: no space left on the device (ENOSPC, write /x/y); free space ...`. */
export function describeFsFailure(e: NodeJS.ErrnoException & { code: string }, doing: string): { code: FsFailureCode; message: string } {
  const c = CODES[e.code]!;
  const dest = (e as { dest?: string }).dest;
  const where = [e.syscall, e.path, dest ? `-> ${dest}` : undefined].filter(Boolean).join(' ');
  return { code: c.code, message: `${doing}: ${c.what} (${e.code}${where ? `, ${where}` : ''}); ${c.fix}` };
}
