import { z } from 'zod';

/**
 * The phases of a create, each marked when it ended: accepted (the request passed its checks) →
 * connected (logged in to the host) → synced (the repo is there) → up (`compose up` returned) →
 * ready (every service running and healthy, checks passed). Time to *ready*, not to *started*:
 * what a job waits for. A backend reports the phases it has (saas-stub has no connection).
 */
export const CREATE_PHASES = ['connected', 'synced', 'up'] as const;
export type CreatePhase = (typeof CREATE_PHASES)[number];

const timestamp = z.iso.datetime();

export const createTimingsSchema = z.object({
  accepted: timestamp,
  connected: timestamp.optional(),
  synced: timestamp.optional(),
  up: timestamp.optional(),
  ready: timestamp.optional(),
});
export type CreateTimings = z.infer<typeof createTimingsSchema>;

/** Each phase's own duration in seconds, in order, for the phases that were marked. */
export function phaseDurations(timings: CreateTimings): Array<[string, number]> {
  const marks: Array<[string, string | undefined]> = [
    ['connected', timings.connected],
    ['synced', timings.synced],
    ['up', timings.up],
    ['ready', timings.ready],
  ];
  let previous = Date.parse(timings.accepted);
  const durations: Array<[string, number]> = [];
  for (const [name, at] of marks) {
    if (at === undefined) continue;
    durations.push([name, (Date.parse(at) - previous) / 1000]);
    previous = Date.parse(at);
  }
  return durations;
}

/** `ready in 4.21 s (connected 0.31 s → synced 1.10 s → up 2.00 s → ready 0.80 s)`. */
export function describeTimings(timings: CreateTimings): string {
  const phases = phaseDurations(timings);
  const end = timings.ready ?? timings.up ?? timings.synced ?? timings.connected ?? timings.accepted;
  const total = (Date.parse(end) - Date.parse(timings.accepted)) / 1000;
  const list = phases.map(([name, seconds]) => `${name} ${seconds.toFixed(2)} s`).join(' → ');
  return `${timings.ready ? 'ready' : 'stopped'} in ${total.toFixed(2)} s${list ? ` (${list})` : ''}`;
}
