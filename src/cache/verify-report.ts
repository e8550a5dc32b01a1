/**
 * What `dag verify` prints: every problem with what the next `dag run` does about it, so
 * nobody has to guess whether a line needs action. Pure (no I/O), for the CLI to print.
 */
import type { UnreadableEntry, VerifyProblem } from './store.ts';

/** One printed line; `bad` lines are problems the next run or the user must deal with. */
export interface VerifyLine {
  text: string;
  bad: boolean;
}

/** The lines and how many of them are problems (exit 1 when > 0). */
export function verifyReport(
  res: { problems: VerifyProblem[]; unreadable: UnreadableEntry[] },
  inPipeline: (id: string) => boolean,
): { lines: VerifyLine[]; failing: number } {
  const lines: VerifyLine[] = [];
  let failing = 0;
  for (const p of res.problems) {
    const head = `${p.problem === 'digest' ? 'CORRUPTED' : 'MISSING  '} ${p.object}`;
    if (p.usedBy.length === 0) {
      // Nothing trusts it: not a problem for any run, only space.
      lines.push({ text: `note: ${head}: no run record uses it; nothing re-runs, dag gc removes it`, bad: false });
      continue;
    }
    failing++;
    const ids = [...new Set(p.usedBy.map((u) => u.replace(/ \((log|input listing)\)$/, '')))];
    const current = ids.filter(inPipeline);
    const old = ids.filter((i) => !inPipeline(i));
    const next = current.length
      ? `the next dag run re-runs ${current.join(', ')} if its current version uses it (then only what depends on changed outputs)`
      : 'not used by the current pipeline: nothing re-runs; dag gc removes it';
    lines.push({ text: `${head}  used by ${p.usedBy.join(', ')}\n    -> ${next}${old.length && current.length ? `; old versions of ${old.join(', ')} are removed by dag gc` : ''}`, bad: true });
  }
  for (const u of res.unreadable) {
    failing++;
    const next =
      u.kind === 'run record'
        ? 'the next dag run treats that version as never run: its instance re-runs if current, and the record is rewritten'
        : u.kind === 'index entry'
          ? 'nothing re-runs because of it: the next run of that instance rewrites it (until then dag status cannot say what changed)'
          : 'only the last failure log is lost; the next failure or success of that instance replaces it';
    lines.push({ text: `UNREADABLE ${u.kind} ${u.file} (${u.problem})\n    -> ${next}`, bad: true });
  }
  return { lines, failing };
}
