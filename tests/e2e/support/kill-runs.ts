import { setTimeout as sleep } from 'node:timers/promises';
import { type RunningCli, startSandboxer } from './cli-process.js';

/**
 * `kill -9` of the CLI at random points of create and destroy. Every run's plan is drawn up front
 * from one seeded PRNG, so a failing seed replays the same plans (timing on a busy machine still
 * varies); runs go a few at a time in parallel.
 */

/** mulberry32: small, fast, good enough to pick kill points. */
export function prng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where to kill: after a delay, or once the n-th progress line is out. */
export type KillPoint = { after_ms: number } | { after_line: number };

export interface KillPlan {
  run: number;
  profile: string;
  /** Kill the create here; undefined: let it finish, then kill its destroy. */
  create?: KillPoint;
  destroy: KillPoint;
}

export interface KillOutcome extends KillPlan {
  sandbox?: string;
  /** What happened to the create and to the destroy: `killed after "<last line>"`, `exit N`, `not run`. */
  created: string;
  destroyed: string;
}

function point(rnd: () => number, maxMs: number, maxLine: number): KillPoint {
  return rnd() < 0.5
    ? { after_ms: Math.floor(rnd() * maxMs) }
    : { after_line: 1 + Math.floor(rnd() * maxLine) };
}

/**
 * Where kill points may fall for one profile: within a little less than its create and destroy take
 * on the testbed (milliseconds from the start, and how many progress lines come before the last),
 * so that most points land while the process still runs whatever the seed.
 */
export interface KillWindows {
  profile: string;
  create: { maxMs: number; maxLine: number };
  destroy: { maxMs: number; maxLine: number };
}

/** `count` plans over `profiles`; every `destroyEvery`-th run lets its create finish and kills the destroy. */
export function killPlans(
  seed: number,
  count: number,
  profiles: KillWindows[],
  destroyEvery: number,
): KillPlan[] {
  const rnd = prng(seed);
  return Array.from({ length: count }, (_, run) => {
    const windows = profiles[run % profiles.length] as KillWindows;
    return {
      run,
      profile: windows.profile,
      ...(run % destroyEvery === destroyEvery - 1
        ? {}
        : { create: point(rnd, windows.create.maxMs, windows.create.maxLine) }),
      destroy: point(rnd, windows.destroy.maxMs, windows.destroy.maxLine),
    };
  });
}

/** Waits for the kill point, then SIGKILLs the process if it still runs; says what happened. */
async function killAt(run: RunningCli, at: KillPoint): Promise<string> {
  if ('after_ms' in at) await Promise.race([sleep(at.after_ms), run.done]);
  else await run.lines(at.after_line).catch(() => undefined);
  const alive = run.child.exitCode === null && run.child.signalCode === null;
  if (alive) run.child.kill('SIGKILL');
  const ended = await run.done;
  const last = ended.stderr.trimEnd().split('\n').pop() ?? '';
  return ended.signal === 'SIGKILL' ? `killed after "${last}"` : `exit ${ended.code}`;
}

/** One planned run: create (killed or not), then, if the create finished, its destroy, killed. */
export async function killRun(
  plan: KillPlan,
  env: Record<string, string>,
  args: string[],
  onKill: () => void,
): Promise<KillOutcome> {
  const create = startSandboxer(['create', '-p', plan.profile, ...args, '-v', '--json'], env);
  const created = plan.create ? await killAt(create, plan.create) : `exit ${(await create.done).code}`;
  const result = await create.done;
  if (result.signal === 'SIGKILL') onKill();
  const sandbox = /sandbox ([a-z0-9]+): provisioning/.exec(result.stderr)?.[1];
  if (result.code !== 0 || !result.json?.id) return { ...plan, sandbox, created, destroyed: 'not run' };
  const destroy = startSandboxer(['destroy', result.json.id, '-v'], env);
  const destroyed = await killAt(destroy, plan.destroy);
  if ((await destroy.done).signal === 'SIGKILL') onKill();
  return { ...plan, sandbox, created, destroyed };
}

/** Runs `work` over `items`, at most `parallel` at a time, keeping the order of results. */
export async function inPool<T, R>(
  items: T[],
  parallel: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  return results;
}
