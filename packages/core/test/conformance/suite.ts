import { beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { ProvisionRequest, SandboxExtension } from '../../src/extensions/contract.js';
import { cleanupReportSchema, reachabilitySchema, sandboxHandleSchema } from '../../src/records/handle.js';
import type { HostTarget } from '../../src/records/host-target.js';
import { newSandboxId } from '../../src/util/ids.js';
import { profileFor } from '../support/fixtures.js';

/** What a conformance run needs to know about one extension under test. */
export interface ConformanceTarget {
  extension: () => Promise<SandboxExtension> | SandboxExtension;
  /** Inputs that make a working sandbox. */
  inputs: Record<string, string>;
  /** The input whose absence validateInputs must report by name. */
  requiredInput: string;
  host?: HostTarget;
  /** True while anything of this sandbox exists on the backend (directory, containers, …). */
  exists: (sandboxId: string) => Promise<boolean>;
  /** Inputs that make provision or waitReady fail after creating something, if the backend can. */
  failingInputs?: Record<string, string>;
}

/**
 * The contract every extension must honour, run against each built-in and the in-memory reference:
 * provision → wait ready → teardown, idempotent teardown, teardown from a minimal handle (the
 * manager's rollback path), and required-input errors that name the input.
 */
export function describeConformance(name: string, target: ConformanceTarget): void {
  describe(`extension conformance: ${name}`, () => {
    let extension: SandboxExtension;
    beforeAll(async () => {
      extension = await target.extension();
    });

    const request = (sandboxId: string, inputs = target.inputs): ProvisionRequest => {
      const createdAt = new Date();
      return {
        sandboxId,
        profile: profileFor(extension.id),
        inputs: extension.validateInputs(inputs),
        host: target.host,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + 600_000),
      };
    };

    test('provision → waitReady → teardown leaves nothing behind', async () => {
      const id = newSandboxId();
      const handle = sandboxHandleSchema.parse(await extension.provision(request(id)));
      expect(handle.sandbox_id).toBe(id);
      expect(await target.exists(id)).toBe(true);
      const reachability = reachabilitySchema.parse(await extension.waitReady(handle));
      expect(Object.keys(reachability).length).toBeGreaterThan(0);
      const report = cleanupReportSchema.parse(await extension.teardown(handle));
      expect(report.leftovers).toEqual([]);
      expect(report.already_gone).toBe(false);
      expect(await target.exists(id)).toBe(false);
    });

    test('teardown is idempotent: a second call succeeds and says it was already gone', async () => {
      const id = newSandboxId();
      const handle = await extension.provision(request(id));
      await extension.teardown(handle);
      const again = await extension.teardown(handle);
      expect(again.already_gone).toBe(true);
      expect(again.leftovers).toEqual([]);
    });

    test('teardown from a minimal handle removes what provision made (rollback path)', async () => {
      const id = newSandboxId();
      const handle = await extension.provision(request(id));
      const report = await extension.teardown({ sandbox_id: id, host: handle.host });
      expect(report.leftovers).toEqual([]);
      expect(await target.exists(id)).toBe(false);
    });

    test('teardown of a sandbox that never existed succeeds', async () => {
      const report = await extension.teardown({
        sandbox_id: newSandboxId(),
        host: target.host?.name ?? 'local',
      });
      expect(report.already_gone).toBe(true);
    });

    test('validateInputs names a missing required input', () => {
      const inputs = { ...target.inputs };
      delete inputs[target.requiredInput];
      expect(() => extension.validateInputs(inputs)).toThrow(InputError);
      expect(() => extension.validateInputs(inputs)).toThrow(`input "${target.requiredInput}"`);
    });

    if (target.failingInputs) {
      test('a failure after resources were made is cleaned up by teardown from a minimal handle', async () => {
        const id = newSandboxId();
        const req = request(id, target.failingInputs);
        let handle = undefined as Awaited<ReturnType<SandboxExtension['provision']>> | undefined;
        await expect(
          (async () => {
            handle = await extension.provision(req);
            await extension.waitReady(handle);
          })(),
        ).rejects.toThrow();
        await extension.teardown(handle ?? { sandbox_id: id, host: target.host?.name ?? 'local' });
        expect(await target.exists(id)).toBe(false);
      });
    }
  });
}
