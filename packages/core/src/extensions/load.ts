import { basename } from 'node:path';
import { type DeclarationSource, parseDeclaration } from '../declarations/read.js';
import { ConfigError } from '../errors.js';
import { builtinHandlerNames, builtinHandlers } from './builtin/index.js';
import { type ExtensionDeclaration, extensionDeclarationSchema } from './schema.js';

export interface LoadedExtension {
  declaration: ExtensionDeclaration;
  source: DeclarationSource;
}

const FILE_NAME = /^(ext\.[a-z0-9][a-z0-9-]*)\.ya?ml$/;

/** Parses `ext.<name>.yaml`, checks its id matches the file name and a built-in handler exists. */
export function loadExtension(source: DeclarationSource): LoadedExtension {
  const declaration = parseDeclaration(source, extensionDeclarationSchema);
  const fileId = FILE_NAME.exec(basename(source.displayPath))?.[1];
  if (fileId !== declaration.id) {
    throw new ConfigError(
      `${source.displayPath}: id: "${declaration.id}" does not match the file name (expected the file to be named ${declaration.id}.yaml)`,
      { file: source.displayPath, field: 'id' },
    );
  }
  if (declaration.handler.startsWith('builtin:')) {
    const name = declaration.handler.slice('builtin:'.length);
    if (!(name in builtinHandlers)) {
      throw new ConfigError(
        `${source.displayPath}: handler: unknown handler "${declaration.handler}" (built-in handlers: ${builtinHandlerNames()
          .map((n) => `builtin:${n}`)
          .join(', ')}; or use "<module>:<ExportName>")`,
        { file: source.displayPath, field: 'handler' },
      );
    }
  }
  return { declaration, source };
}
