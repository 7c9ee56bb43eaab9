import { beforeAll, describe, expect, test } from 'vitest';
import type { Profile } from '../declarations/profile-schema.js';
import { InputError } from '../errors.js';
import type { ProvisionRequest, RawInputs, SandboxExtension } from '../extensions/contract.js';
import { cleanupReportSchema, reachabilitySchema, sandboxHandleSchema } from '../records/handle.js';
import type { HostTarget } from '../records/host-target.js';
import { newSandboxId } from '../util/ids.js';

/**
 * @sand-boxer/core/conformance — the contract every extension must honour, as a vitest suite that a
 * built-in and a third-party extension alike can run against its real backend:
 *
 *   describeConformance('ext.mine', { extension: () => new Mine(context), inputs: {…}, … });
 *
 * It needs vitest (a peer dependency of this entry only).
 */

export { describeStateStoreConformance, type StateStoreTarget } from './state-conformance.js';

/** What a conformance run needs to know about one extension under test. */
export interface ConformanceTarget {
  extension: () => Promise<SandboxExtension> | SandboxExtension;
  /** Inputs that make a working sandbox (`local-path` inputs absolute, as core hands them over). */
  inputs: RawInputs;
  /** An input whose absence validateInputs must report by name. */
  requiredInput: string;
  /** The host an `ssh` extension works on (as the manager resolves it); none for local ones. */
  host?: HostTarget;
  /** True while anything of this sandbox exists on the backend (directory, containers, …). */
  exists: (sandboxId: string) => Promise<boolean>;
  /** Inputs that make provision or waitReady fail after creating something, if the backend can. */
  failingInputs?: RawInputs;
  /** The profile the requests name (default: a plain one for this extension, 10 minutes). */
  profile?: Profile;
}

/**
 * provision → wait ready → teardown, idempotent teardown, teardown from a minimal handle (the
 * manager's rollback path), a teardown of what never existed, required-input errors that name the
 * input, exec passing argv through untouched (when offered), and cleanup after a failure half-way.
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
        profile: target.profile ?? plainProfile(extension.id),
        inputs: extension.validateInputs(inputs),
        host: target.host,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + 600_000),
      };
    };
    const nowhere = () => ({ sandbox_id: newSandboxId(), host: target.host?.name ?? 'local' });

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
      const minimal = { sandbox_id: id, host: handle.host, ...(target.host ? { target: target.host } : {}) };
      const report = await extension.teardown(minimal);
      expect(report.leftovers).toEqual([]);
      expect(await target.exists(id)).toBe(false);
    });

    test('teardown of a sandbox that never existed succeeds', async () => {
      const report = await extension.teardown({
        ...nowhere(),
        ...(target.host ? { target: target.host } : {}),
      });
      expect(report.already_gone).toBe(true);
    });

    test('validateInputs names a missing required input, before anything is made', () => {
      const inputs = { ...target.inputs };
      delete inputs[target.requiredInput];
      let error: unknown;
      try {
        extension.validateInputs(inputs);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).message).toContain(`"${target.requiredInput}"`);
      expect((error as InputError).details.inputs).toContain(target.requiredInput);
    });

    test('exec, if offered: argv arrives as given, in the workspace, with its exit code and streams', async (context) => {
      if (!extension.exec) return context.skip();
      const id = newSandboxId();
      const handle = await extension.provision(request(id));
      try {
        await extension.waitReady(handle);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const args = ['a "quoted" word', "it's", '$HOME; id', 'two\nlines', ''];
        const code = await extension.exec(handle, {
          argv: ['sh', '-c', 'printf "<%s>" "$@"; echo err >&2; exit 3', 'sh', ...args],
          stdout: (chunk) => out.push(chunk),
          stderr: (chunk) => err.push(chunk),
        });
        expect(code).toBe(3);
        expect(Buffer.concat(out).toString()).toBe(args.map((a) => `<${a}>`).join(''));
        expect(Buffer.concat(err).toString()).toBe('err\n');
      } finally {
        await extension.teardown(handle);
      }
    });

    if (target.failingInputs) {
      const failing = target.failingInputs;
      test('a failure after resources were made is cleaned up by teardown from a minimal handle', async () => {
        const id = newSandboxId();
        const req = request(id, failing);
        let handle = undefined as Awaited<ReturnType<SandboxExtension['provision']>> | undefined;
        await expect(
          (async () => {
            handle = await extension.provision(req);
            await extension.waitReady(handle);
          })(),
        ).rejects.toThrow();
        await extension.teardown(
          handle ?? {
            sandbox_id: id,
            host: target.host?.name ?? 'local',
            ...(target.host ? { target: target.host } : {}),
          },
        );
        expect(await target.exists(id)).toBe(false);
      });
    }
  });
}

/** A plain profile for direct extension calls. */
function plainProfile(extension: string): Profile {
  return {
    id: 'profile.conformance',
    description: 'conformance',
    extension,
    ttl: 600,
    inputs: { required: [], defaults: {} },
    wait_for: [],
    wait_for_timeout: 120,
  };
}
