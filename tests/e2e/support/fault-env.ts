import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { sandboxer } from './cli.js';
import { checkLedger } from './ledger.js';
import { leftoversOf, recordedIds, sleepersUnder } from './leftovers.js';
import type { Testbed } from './testbed.js';

/**
 * The fault suite's sandboxes: each fault gets a state directory of its own (records, ledger,
 * scratch files) and a hosts file naming only its aliases, so `gc` there scans only those; and the
 * checks every fault ends with (nothing left of its sandboxes, the ledger balances).
 */

export interface FaultEnv {
  home: string;
  vars: Record<string, string>;
}

export interface Alias {
  address: string;
  port: number;
  base: string;
  knownHosts?: string;
}

export interface GcFinding {
  sandbox: string;
  where: string;
  reason: string;
  action: string;
  result: string;
  detail?: string;
}

export class FaultSuite {
  readonly envs: FaultEnv[] = [];

  /** `bases`: the host-side base directories the aliases use, as local paths (the host is this machine). */
  constructor(
    readonly testbed: Testbed,
    readonly bases: string[],
  ) {}

  /** A state directory of its own, and a hosts file naming only `aliases` (the first is the default). */
  newEnv(name: string, aliases: Record<string, Alias>): FaultEnv {
    const home = mkdtempSync(join(tmpdir(), `sbx-faults-${name}-`));
    const tmp = join(home, 'tmp');
    mkdirSync(tmp);
    const hostsFile = join(home, 'hosts.yaml');
    const t = this.testbed;
    const entries = Object.entries(aliases).map(
      ([alias, a]) =>
        `  ${alias}:\n    address: ${a.address}\n    port: ${a.port}\n    user: ${t.user}\n` +
        `    identity_file: ${t.key}\n    known_hosts: ${a.knownHosts ?? t.knownHosts}\n` +
        `    base_dir: ${a.base}\n    capacity: 40\n`,
    );
    writeFileSync(hostsFile, `default: ${Object.keys(aliases)[0]}\nhosts:\n${entries.join('')}`);
    const env = {
      home,
      vars: {
        SANDBOXER_HOME: home,
        SANDBOXER_HOSTS: hostsFile,
        SANDBOXER_COMPOSE_CMD: 'docker-compose',
        // The CLI's scratch files (rsync's copy of the key) land here, where a test can look for them.
        TMPDIR: tmp,
      },
    };
    this.envs.push(env);
    return env;
  }

  /** Every base directory in use: the hosts' and each state directory's saas-stub workspaces. */
  allBases(): string[] {
    return [...this.bases, ...this.envs.map((e) => join(e.home, 'saas-stub'))];
  }

  /**
   * What is left of one state directory's sandboxes; without `env`, of everything the suite made,
   * including any sbx-* directory, switch or sleeper under its base directories.
   */
  leftovers(env?: FaultEnv): string[] {
    const ids = (env ? [env] : this.envs).flatMap((e) => recordedIds(e.home));
    const found = leftoversOf(this.allBases(), ids);
    return env ? found.filter((item) => ids.some((id) => item.includes(id))) : found;
  }

  /**
   * `sandboxer gc` as a user runs it. Findings about this state directory's sandboxes or its own
   * hosts (`-`: a scan) must not fail; the scan also sees other files' sandboxes on the shared
   * engine, whose outcome is not this suite's business.
   */
  gc(env: FaultEnv): { seconds: number; findings: GcFinding[]; stderr: string } {
    const started = Date.now();
    const run = sandboxer(['gc', '--json', '-v'], env.vars);
    const findings = (Array.isArray(run.json) ? run.json : []) as GcFinding[];
    const mine = new Set([...recordedIds(env.home), '-']);
    expect(
      findings.filter((f) => f.result === 'failed' && mine.has(f.sandbox)),
      run.stderr,
    ).toEqual([]);
    if (run.code !== 0) expect(findings.some((f) => f.result === 'failed')).toBe(true);
    return { seconds: (Date.now() - started) / 1000, findings, stderr: run.stderr };
  }

  status(env: FaultEnv, id: string) {
    const run = sandboxer(['status', id, '--json'], env.vars);
    expect(run.code, run.stderr).toBe(0);
    return run.json;
  }

  /** After the fault and its clean-up: nothing of this state directory's sandboxes left, the ledger balances. */
  async expectNothingLeft(env: FaultEnv) {
    expect(this.leftovers(env)).toEqual([]);
    const ledger = await checkLedger(env.vars);
    expect(ledger.problems).toEqual([]);
    expect(ledger.held).toBe(0);
    return ledger;
  }

  /**
   * The last resort, without sand-boxer: stops the sleepers, removes the compose projects of every
   * sandbox recorded or found in the base directories, and deletes the host base directories.
   */
  forceClean(): void {
    for (const b of this.allBases()) {
      for (const { pid } of sleepersUnder(b)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    const ids = new Set(this.envs.flatMap((e) => recordedIds(e.home)));
    for (const b of this.bases) {
      if (!existsSync(b)) continue;
      for (const n of readdirSync(b)) if (/^sbx-[a-z0-9]+$/.test(n)) ids.add(n.slice(4));
    }
    for (const id of ids) {
      const filter = `label=com.docker.compose.project=sbx-${id}`;
      const sh = (script: string) => spawnSync('sh', ['-c', script], { stdio: 'ignore' });
      sh(`docker ps -aq --filter ${filter} | xargs -r docker rm -f -v`);
      sh(`docker network ls -q --filter ${filter} | xargs -r docker network rm`);
      sh(`docker volume ls -q --filter ${filter} | xargs -r docker volume rm -f`);
    }
    for (const b of this.bases) {
      // A spare copy of a sync cache may still be in the making (`<key>.spare-tmp.<pid>`).
      const making = () =>
        spawnSync('find', [b, '-path', '*/.sandboxer-cache/*.spare-tmp.*', '-prune', '-print'], {
          encoding: 'utf8',
        }).stdout.trim();
      for (let i = 0; i < 300 && making(); i++) spawnSync('sleep', ['0.1']);
      spawnSync('find', [b, '-path', '*/.sandboxer-cache/*.lock', '-exec', 'flock', '{}', 'true', ';'], {
        stdio: 'ignore',
      });
      rmSync(b, { recursive: true, force: true });
    }
  }

  /** rsync scratch directories (each with a copy of the private key) under a state directory's TMPDIR. */
  keyCopies(env: FaultEnv): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
        if (!entry.isDirectory()) continue;
        if (entry.name.startsWith('sandboxer-sync-')) found.push(join(dir, entry.name));
        else walk(join(dir, entry.name));
      }
    };
    walk(env.vars.TMPDIR as string);
    return found;
  }

  /** Deletes the key copies that killed CLIs left (nothing else would); returns how many. */
  removeKeyCopies(): number {
    const copies = this.envs.flatMap((env) => this.keyCopies(env));
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
    return copies.length;
  }
}
