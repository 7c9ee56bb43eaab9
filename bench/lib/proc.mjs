// What /proc says about a process, for the benchmarks that measure one (keepers, forwarders, creates).
import { readFileSync } from 'node:fs';

/** VmRSS of a process, in bytes. */
export function rss(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN) * 1024;
}

/** utime+stime (own) and cutime+cstime (waited-for children) of a process, in ms, from /proc. */
export function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // After "pid (comm) ": state is field 3, so utime (14) … cstime (17) are at 11 … 14 here.
  const ticks = fields.slice(11, 15).map(Number);
  const ms = (t) => (t * 1000) / 100; // USER_HZ is 100 on Linux
  return { self: ms(ticks[0] + ticks[1]), children: ms(ticks[2] + ticks[3]) };
}
