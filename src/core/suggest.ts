/**
 * "Did you mean" suggestions: the closest candidate by Levenshtein distance, so a typo in a
 * key, stage name, kind or axis value points at the intended word.
 */

/**
 * Edit distance (insert, delete, substitute, and swap of two neighbours, each cost 1; the
 * "optimal string alignment" variant of Levenshtein) between two strings. Swaps count once
 * because `trian` for `train` is the most common typo.
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j - 1] ?? 0) + cost, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length] ?? 0;
}

/**
 * The candidate closest to `word`, or undefined when none is plausibly a typo of it: the
 * distance may be at most a third of the word's length (at least 1) and must leave some of
 * both words intact (so `4` never suggests `1`). Case differences are free.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = c.toLowerCase() === lower ? 0 : levenshtein(lower, c.toLowerCase());
    if (d > 0 && (d >= word.length || d >= c.length)) continue;
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= limit ? best : undefined;
}

/** `; did you mean 'x'?` or the empty string, to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `; did you mean '${c}'?`;
}
