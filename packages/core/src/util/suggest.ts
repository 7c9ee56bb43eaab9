import { distance } from 'fastest-levenshtein';

/**
 * The known name closest to a mistyped one, when it is close enough to be a typo (an edit distance
 * of at most a third of its length, and at least 1 or 2), for "did you mean …?" hints.
 */
export function closestName(typed: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(typed.length <= 4 ? 1 : 2, Math.floor(typed.length / 3));
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(typed, name);
    if (d <= limit && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** ` (did you mean "x"?)`, or nothing. */
export function didYouMean(typed: string, known: Iterable<string>): string {
  const name = closestName(typed, known);
  return name === undefined ? '' : ` (did you mean "${name}"?)`;
}
