import type { ExtensionFactory } from '../contract.js';

/**
 * The handlers shipped with sand-boxer, by the name used in `handler: builtin:<name>`.
 * A static map of lazy imports: bundlers (ncc for the action) see every module, and a command only
 * loads the backend it uses.
 */
export const builtinHandlers: Readonly<Record<string, () => Promise<ExtensionFactory>>> = {
  'compose-ssh': async () => (await import('./compose-ssh/extension.js')).createComposeSsh,
  'saas-stub': async () => (await import('./saas-stub.js')).createSaasStub,
  'vm-packer': async () => (await import('./vm-packer.js')).createVmPacker,
};

export const builtinHandlerNames = (): string[] => Object.keys(builtinHandlers).sort();
