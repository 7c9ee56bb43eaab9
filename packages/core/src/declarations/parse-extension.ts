import { basename } from 'node:path';
import { ConfigError } from '../errors.js';
import { type ExtensionDeclaration, extensionDeclarationSchema } from './extension-schema.js';
import { type DeclarationSource, parseDeclaration } from './read.js';

export interface LoadedExtension {
  declaration: ExtensionDeclaration;
  source: DeclarationSource;
}

const FILE_NAME = /^(ext\.[a-z0-9][a-z0-9-]*)\.ya?ml$/;

/** Parses `ext.<name>.yaml`, checks its id matches the file name (the catalog checks its handler). */
export function loadExtension(source: DeclarationSource): LoadedExtension {
  const declaration = parseDeclaration(source, extensionDeclarationSchema);
  const fileId = FILE_NAME.exec(basename(source.displayPath))?.[1];
  if (fileId !== declaration.id) {
    throw new ConfigError(
      `${source.displayPath}: id: "${declaration.id}" does not match the file name (expected the file to be named ${declaration.id}.yaml)`,
      { file: source.displayPath, field: 'id' },
    );
  }
  return { declaration, source };
}
