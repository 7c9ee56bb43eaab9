import { describeConformance } from '../../src/testing/conformance.js';
import { MemoryExtension } from '../support/memory-extension.js';

describeConformance('in-memory reference', {
  extension: () => new MemoryExtension(),
  inputs: { name: 'x' },
  requiredInput: 'name',
  exists: async (id) => MemoryExtension.resources.has(id),
  failingInputs: { name: 'x', fail_at: 'provision_after_create' },
});
