// Small summaries of repeated measurements: median and range, and their formatting.

/** The median of numbers (mean of the two middle ones for an even count); NaN when empty. */
export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** { median, min, max, n } of the finite values. */
export function summary(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return {
    median: median(finite),
    min: finite.length ? Math.min(...finite) : Number.NaN,
    max: finite.length ? Math.max(...finite) : Number.NaN,
    n: finite.length,
  };
}

/** `1.23 s` from milliseconds. */
export const seconds = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');

/** `12.3 MB` / `4.5 kB` / `120 B`. */
export function bytes(n) {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

/** `0.83×`, `0.0025×`. */
export function ratio(r) {
  if (!Number.isFinite(r)) return 'n/a';
  // Two decimals, but never 0.00× for a real difference (a warm sync sends ~0.3% of the bytes).
  return r > 0 && r < 0.1 ? `${r.toPrecision(2)}×` : `${r.toFixed(2)}×`;
}

/** Median with range: `1.23 s (1.10–1.40)`. */
export function range(s, format = seconds) {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  if (s.n < 2) return format(s.median);
  const bare = (v) => format(v).replace(/ [a-zA-Z]+$/, '');
  return `${format(s.median)} (${bare(s.min)}–${bare(s.max)})`;
}
