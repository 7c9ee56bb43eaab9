import { describe, expect, test } from 'vitest';
import { InputError, NotFoundError, ProvisionError, SandboxerError } from '../../src/errors.js';

/**
 * The CLI runs from a bundle with its own copy of the error classes, while an extension handler a
 * user wrote imports the installed package: `instanceof` must hold across the two copies.
 */
describe('instanceof across copies of the errors module', () => {
  // Another copy, as the bundle would have it: the same class names (the bundle keeps them), the
  // same global brand.
  const OtherSandboxerError = {
    SandboxerError: class extends Error {
      constructor(message: string) {
        super(message);
        Object.defineProperty(this, Symbol.for('sand-boxer.error'), { value: true });
      }
    },
  }.SandboxerError;
  const OtherInputError = { InputError: class extends OtherSandboxerError {} }.InputError;

  test('an error of the other copy is a SandboxerError and of its own subclass, not of another', () => {
    const error = new OtherInputError('bad input');
    expect(error).toBeInstanceOf(SandboxerError);
    expect(error).toBeInstanceOf(InputError);
    expect(error).not.toBeInstanceOf(NotFoundError);
    expect(error).not.toBeInstanceOf(ProvisionError);
  });

  test('this copy still works as before; plain errors and lookalikes without the brand are not ours', () => {
    expect(new InputError('x')).toBeInstanceOf(SandboxerError);
    expect(new InputError('x')).toBeInstanceOf(InputError);
    expect(new InputError('x')).not.toBeInstanceOf(NotFoundError);
    expect(new Error('x')).not.toBeInstanceOf(SandboxerError);
    expect({ name: 'InputError', code: 'INPUT_INVALID' }).not.toBeInstanceOf(InputError);
    expect(null).not.toBeInstanceOf(SandboxerError);
  });
});
