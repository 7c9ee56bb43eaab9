import { z } from 'zod';

const UNIT_SECONDS = { d: 86_400, h: 3600, m: 60, s: 1 } as const;
/** One or more `<number><unit>` parts, largest unit first: `90s`, `1h30m`, `1.5h`, `1d12h`. */
const DURATION = /^(?:\d+(?:\.\d+)?d)?(?:\d+(?:\.\d+)?h)?(?:\d+(?:\.\d+)?m)?(?:\d+(?:\.\d+)?s)?$/;
const PART = /(\d+(?:\.\d+)?)([dhms])/g;

/**
 * Parses a duration such as `90s`, `30m`, `1h30m`, `1.5h` or `1d` (or a bare number of seconds) into
 * whole seconds. Returns undefined for anything else (or a fraction of a second, or zero) so callers
 * can word the error for their own context.
 */
export function parseDurationSeconds(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text > 0 ? text : undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) > 0 ? Number(trimmed) : undefined;
  if (trimmed === '' || !DURATION.test(trimmed)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  }
  // 1.5h is 5400 s; 0.5s is not a whole second. Rounded first: 0.1h is 360.00000000000006 in floats.
  const whole = Math.round(seconds * 1000) / 1000;
  return Number.isInteger(whole) && whole > 0 ? whole : undefined;
}

/** Formats seconds as an exact duration, largest units first (`5400` → `1h30m`, `90` → `1m30s`). */
export function formatDuration(seconds: number): string {
  let left = Math.round(seconds);
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_SECONDS)) {
    if (left >= size) {
      text += `${Math.floor(left / size)}${unit}`;
      left %= size;
    }
  }
  return text || '0s';
}

/** A zod schema for durations in declarations; the parsed value is seconds. */
export const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like "90s", "30m", "1h30m", "1.5h" or "1d", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return seconds;
});
