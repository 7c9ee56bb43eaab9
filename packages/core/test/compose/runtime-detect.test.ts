import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ProvisionError } from '../../src/errors.js';
import {
  chooseRuntime,
  parseProbes,
  probeRuntimesCommand,
} from '../../src/extensions/builtin/compose-ssh/runtime-detect.js';

/**
 * `compose_command: auto` on a host that has some of docker (with or without the v2 plugin),
 * docker-compose and podman-compose: the probe runs in a real sh whose PATH holds only fakes (the
 * machine's own docker-compose and podman-compose must not answer), printing what the real ones print.
 */
const DOCKER_V2 = `#!/bin/sh\n[ "$1 $2" = "compose version" ] && { echo 'Docker Compose version v2.24.5'; exit 0; }\nexit 0\n`;
const DOCKER_ONLY = `#!/bin/sh\necho "docker: unknown command: docker $1" >&2; echo "Run 'docker --help' for more information" >&2; exit 1\n`;
const COMPOSE_V1 = `#!/bin/sh\necho 'docker-compose version 1.29.2, build unknown'; echo 'docker-py version: 5.0.3'\n`;
const PODMAN_COMPOSE = `#!/bin/sh\necho "['podman', '--version', '']" >&2; echo 'using podman version: 4.3.1' >&2; echo 'podman-composer version  1.0.3'\n`;

function host(bins: Record<string, string>): string {
  const bin = mkdtempSync(join(tmpdir(), 'sbx-detect-'));
  for (const tool of ['timeout', 'grep', 'head', 'cut']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  for (const [name, script] of Object.entries(bins)) {
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  }
  const result = spawnSync('/bin/sh', ['-c', probeRuntimesCommand()], {
    env: { PATH: bin },
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

describe('runtime detection (compose_command: auto)', () => {
  test.each([
    [
      'Compose v2 and podman-compose',
      { docker: DOCKER_V2, 'podman-compose': PODMAN_COMPOSE },
      'docker compose',
      ['docker', 'podman'],
    ],
    [
      'docker without the v2 plugin, and Compose v1 (Debian 12)',
      { docker: DOCKER_ONLY, 'docker-compose': COMPOSE_V1 },
      'docker-compose',
      ['docker'],
    ],
    ['only podman-compose', { 'podman-compose': PODMAN_COMPOSE }, 'podman-compose', ['podman']],
    [
      'all three',
      { docker: DOCKER_V2, 'docker-compose': COMPOSE_V1, 'podman-compose': PODMAN_COMPOSE },
      'docker compose',
      ['docker', 'podman'],
    ],
  ])('%s → %s', (_name, bins, words, engines) => {
    const detected = chooseRuntime(parseProbes(host(bins)), 'sbxtest@host');
    expect(detected.runtime.words.join(' ')).toBe(words);
    expect(detected.engines).toEqual(engines);
  });

  test('each probe says what it got: the version when it works, the reason when not', () => {
    const probes = parseProbes(host({ docker: DOCKER_ONLY, 'podman-compose': PODMAN_COMPOSE }));
    expect(probes).toEqual([
      { candidate: 'docker compose', ok: false, said: 'docker: unknown command: docker compose' },
      { candidate: 'docker-compose', ok: false, said: 'docker-compose: not installed' },
      { candidate: 'podman-compose', ok: true, said: 'podman-composer version  1.0.3' },
    ]);
  });

  test('none found: the error lists what was tried and how to name a command', () => {
    const probes = parseProbes(host({ docker: DOCKER_ONLY }));
    const attempt = () => chooseRuntime(probes, 'sbxtest@127.0.0.1:2222');
    expect(attempt).toThrow(ProvisionError);
    expect(attempt).toThrow(/no compose runtime found on sbxtest@127\.0\.0\.1:2222; tried:/);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('docker compose version: docker: unknown command: docker compose');
      expect(message).toContain('docker-compose version:');
      expect(message).toContain('podman-compose version:');
      expect(message).toContain('compose-command');
      expect(message).toContain('SANDBOXER_COMPOSE_CMD');
    }
  });

  test('a probe line that never came (a dropped answer) is a failed candidate', () => {
    expect(parseProbes('probe ok 2 podman-compose version 1.0.3\n')).toEqual([
      { candidate: 'docker compose', ok: false, said: 'no answer' },
      { candidate: 'docker-compose', ok: false, said: 'no answer' },
      { candidate: 'podman-compose', ok: true, said: 'podman-compose version 1.0.3' },
    ]);
  });
});
