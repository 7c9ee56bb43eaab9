import { ConfigError } from '../../errors.js';
import type { ExtensionFactory } from '../contract.js';

/** Placeholder for a backend whose handler has not landed yet: its declarations load, creating fails clearly. */
const pending =
  (name: string): (() => Promise<ExtensionFactory>) =>
  async () =>
  () => {
    throw new ConfigError(`builtin:${name} is declared but not implemented in this version of sand-boxer`);
  };

/**
 * The handlers shipped with sand-boxer, by the name used in `handler: builtin:<name>`.
 * A static map of lazy imports: bundlers (ncc for the action) see every module, and a command only
 * loads the backend it uses.
 */
export const builtinHandlers: Readonly<Record<string, () => Promise<ExtensionFactory>>> = {
  'compose-ssh': pending('compose-ssh'),
  'saas-stub': async () => (await import('./saas-stub.js')).createSaasStub,
  'vm-packer': pending('vm-packer'),
};

export const builtinHandlerNames = (): string[] => Object.keys(builtinHandlers).sort();
