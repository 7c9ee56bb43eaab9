import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadedExtension } from '../declarations/parse-extension.js';
import { ConfigError, messageOf } from '../errors.js';
import { builtinHandlers } from './builtin/index.js';
import type { ExtensionContext, ExtensionFactory, SandboxExtension } from './contract.js';

const REQUIRED_METHODS = ['validateInputs', 'provision', 'waitReady', 'teardown'] as const;
const METERED_METHODS = ['estimateCost', 'meterActual'] as const;

/** Resolves a declaration's handler (built-in or `<module>:<Export>`) and checks it honours the contract. */
export async function instantiateHandler(
  loaded: LoadedExtension,
  context: ExtensionContext,
): Promise<SandboxExtension> {
  const { declaration, source } = loaded;
  const where = `${source.displayPath}: handler`;
  const factory = declaration.handler.startsWith('builtin:')
    ? await (
        builtinHandlers[declaration.handler.slice('builtin:'.length)] as () => Promise<ExtensionFactory>
      )()
    : await importFactory(declaration.handler, context.baseDir, where);

  const extension = await factory(context);
  const missing = REQUIRED_METHODS.filter((m) => typeof extension?.[m] !== 'function');
  if (missing.length > 0) {
    throw new ConfigError(`${where}: "${declaration.handler}" does not implement ${missing.join(', ')}`, {
      file: source.displayPath,
      field: 'handler',
    });
  }
  if (declaration.capabilities.pricing_model === 'metered') {
    const unmetered = METERED_METHODS.filter((m) => typeof extension[m] !== 'function');
    if (unmetered.length > 0) {
      throw new ConfigError(
        `${source.displayPath}: capabilities.pricing_model: "metered" requires the handler to implement ${unmetered.join(' and ')}`,
        { file: source.displayPath, field: 'capabilities.pricing_model' },
      );
    }
  }
  return extension;
}

async function importFactory(handler: string, baseDir: string, where: string): Promise<ExtensionFactory> {
  const separator = handler.lastIndexOf(':');
  const specifier = handler.slice(0, separator);
  const exportName = handler.slice(separator + 1);
  let module: Record<string, unknown>;
  try {
    const path =
      specifier.startsWith('.') || isAbsolute(specifier)
        ? resolve(baseDir, specifier)
        : createRequire(join(baseDir, 'noop.js')).resolve(specifier);
    // webpackIgnore: the action's bundle must leave a user's handler module to Node at run time.
    module = await import(/* webpackIgnore: true */ pathToFileURL(path).href);
  } catch (error) {
    throw new ConfigError(
      `${where}: cannot load module "${specifier}": ${messageOf(error)}`,
      { handler },
      { cause: error },
    );
  }
  const exported = module[exportName];
  if (typeof exported !== 'function') {
    const names = Object.keys(module).join(', ') || 'nothing';
    throw new ConfigError(
      `${where}: module "${specifier}" has no export "${exportName}" (it exports: ${names})`,
      {
        handler,
      },
    );
  }
  // Accept a class (constructed with the context) or a plain factory function.
  const isClass = /^class[\s{]/.test(Function.prototype.toString.call(exported));
  return isClass
    ? (context) => new (exported as new (c: ExtensionContext) => SandboxExtension)(context)
    : (exported as ExtensionFactory);
}
