import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import { defineComposeCases, fixtures, type RuntimeTarget, targetEnv } from './support/compose-cases.js';
import { engine, engineLeftovers } from './support/engine.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * The compose cases of issue 21 on Docker Compose v1 (docker-compose 1.29.2, the testbed's Docker
 * host); podman.itg.test.ts runs the same ones on podman-compose. Plus `compose_command: auto`
 * finding the runtime this host has.
 */

let testbed: Testbed;
let v1: RuntimeTarget;
let env: Record<string, string>;

beforeAll(() => {
  testbed = loadTestbed();
  v1 = {
    compose: 'docker-compose',
    user: testbed.user,
    address: testbed.host1,
    base: testbed.sandboxBase,
    engine: engine('docker'),
    upWaitsForHealth: true,
  };
  env = targetEnv(testbed, v1);
});

afterEach(() => {
  expect(engineLeftovers(v1.engine, [v1.base])).toEqual([]);
});

describe('compose cases on docker-compose v1', () => {
  defineComposeCases(() => ({ t: v1, env }));

  test('compose_command auto (the default) finds docker-compose here, and the record keeps it', () => {
    const created = sandboxer(
      ['create', '-p', 'compose-e2e', '-i', `repo=${fixtures}/compose-http`, '--json', '-v'],
      { ...env, SANDBOXER_COMPOSE_CMD: '' },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('compose runtime on target: docker-compose');
    expect(created.json.handle.compose_command).toBe('docker-compose');
    // Teardown uses what the record says, whatever this process's default.
    expect(sandboxer(['destroy', created.json.id], { ...env, SANDBOXER_COMPOSE_CMD: '' }).code).toBe(0);
  });
});
