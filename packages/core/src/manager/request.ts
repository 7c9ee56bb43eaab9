import type { Profile } from '../declarations/profile-schema.js';
import { InputError } from '../errors.js';
import { formatDuration, parseDurationSeconds } from '../util/duration.js';

/** The profile's defaults overlaid with the user's inputs; every required input must be non-empty. */
export function resolveInputs(profile: Profile, given: Record<string, string>): Record<string, string> {
  const inputs = { ...profile.inputs.defaults, ...given };
  const missing = profile.inputs.required.filter((name) => !inputs[name]);
  if (missing.length > 0) {
    const flags = missing.map((name) => `--input ${name}=<value>`).join(' ');
    throw new InputError(
      `${profile.id}: ${missing.length === 1 ? 'input' : 'inputs'} ${missing.map((n) => `"${n}"`).join(', ')} required (pass ${flags})`,
      { profile: profile.id, missing },
    );
  }
  return inputs;
}

/** The sandbox's lifetime in seconds: `--ttl` if given (at most `max_ttl`), else the profile's TTL. */
export function resolveTtl(profile: Profile, requested: string | number | undefined): number {
  if (requested === undefined) return profile.ttl;
  const seconds = parseDurationSeconds(requested);
  if (seconds === undefined) {
    throw new InputError(
      `--ttl: expected a duration like "90s", "30m", "2h" or "1d", got ${JSON.stringify(requested)}`,
      {
        ttl: requested,
      },
    );
  }
  if (profile.max_ttl !== undefined && seconds > profile.max_ttl) {
    throw new InputError(
      `--ttl: ${formatDuration(seconds)} is longer than ${profile.id}'s max_ttl of ${formatDuration(profile.max_ttl)}`,
      { ttl: requested, max_ttl: profile.max_ttl },
    );
  }
  return seconds;
}
