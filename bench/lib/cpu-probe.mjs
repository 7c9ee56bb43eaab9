// Preloaded into a CLI run (`node --import <this file> …`) by the benchmark: when the process exits
// it writes its own CPU time and peak RSS (process.resourceUsage: this process only, not rsync or
// ssh children) to $BENCH_CPU_OUT. The CLI itself is not changed.
import { writeFileSync } from 'node:fs';

// Only this process loads the probe (it comes in by argv, not NODE_OPTIONS), so children that
// inherit BENCH_CPU_OUT ignore it.
const { BENCH_CPU_OUT: out } = process.env;
if (out) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      out,
      JSON.stringify({
        user_us: usage.userCPUTime,
        system_us: usage.systemCPUTime,
        max_rss_kb: usage.maxRSS,
      }),
    );
  });
}
