import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ExtensionDeclaration } from '../declarations/extension-schema.js';
import { type LoadedExtension, loadExtension } from '../declarations/parse-extension.js';
import { type LoadedProfile, loadProfile, normalizeProfileId } from '../declarations/parse-profile.js';
import type { Profile } from '../declarations/profile-schema.js';
import { type DeclarationSource, readDeclarationFile } from '../declarations/read.js';
import { ConfigError, NotFoundError } from '../errors.js';
import { builtinHandlerNames, builtinHandlers } from '../extensions/builtin/index.js';
import type { ExtensionContext, ExtensionRuntime, SandboxExtension } from '../extensions/contract.js';
import { instantiateHandler } from '../extensions/instantiate.js';
import { findConfigDir } from '../util/config-dir.js';
import { builtinDeclarations } from './builtin-declarations.generated.js';

export interface CatalogOptions {
  /**
   * Directories of user declarations, each holding `extensions/` and/or `profiles/`. Later ones
   * override earlier ones, and all override the built-ins, matched by id. None by default.
   */
  userDirs?: string[];
  /** Shown paths are relative to this directory (default: the process's working directory). */
  cwd?: string;
  /** Replaces the built-in declarations (tests). */
  builtins?: ReadonlyArray<DeclarationSource>;
}

/** Where user declarations are looked for by default: `$SANDBOXER_CONFIG_DIR`, else `./.sandboxer`. */
export function defaultUserDirs(cwd: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.SANDBOXER_CONFIG_DIR) return [env.SANDBOXER_CONFIG_DIR];
  const found = findConfigDir(cwd);
  return found ? [found] : [];
}

/** Every extension and profile sand-boxer knows, validated and cross-checked. */
export class Catalog {
  readonly #extensions: Map<string, LoadedExtension>;
  readonly #profiles: Map<string, LoadedProfile>;
  readonly #instances = new Map<string, Promise<SandboxExtension>>();

  constructor(extensions: Map<string, LoadedExtension>, profiles: Map<string, LoadedProfile>) {
    this.#extensions = extensions;
    this.#profiles = profiles;
  }

  extensions(): ExtensionDeclaration[] {
    return [...this.#extensions.values()].map((e) => e.declaration).sort((a, b) => a.id.localeCompare(b.id));
  }

  profiles(): Profile[] {
    return [...this.#profiles.values()].map((p) => p.profile).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Where a declaration came from, for `--json` listings and error messages. */
  sourceOf(id: string): string | undefined {
    return (this.#profiles.get(id) ?? this.#extensions.get(id))?.source.displayPath;
  }

  /** Accepts `saas-stub` or `profile.saas-stub`. */
  profile(idOrSlug: string): Profile {
    const found = this.#profiles.get(normalizeProfileId(idOrSlug));
    if (!found) {
      throw new NotFoundError(
        `unknown profile "${idOrSlug}" (known: ${[...this.#profiles.keys()].sort().join(', ')})`,
        { field: 'profile', profile: idOrSlug },
      );
    }
    return found.profile;
  }

  extension(id: string): ExtensionDeclaration {
    const found = this.#extensions.get(id);
    if (!found) {
      throw new NotFoundError(
        `unknown extension "${id}" (known: ${[...this.#extensions.keys()].sort().join(', ')})`,
        { extension: id },
      );
    }
    return found.declaration;
  }

  /**
   * The extension's handler, created once per catalog (handlers may hold connections or caches)
   * with the runtime of the process that first asks for it.
   */
  instantiate(id: string, runtime: ExtensionRuntime): Promise<SandboxExtension> {
    let instance = this.#instances.get(id);
    if (!instance) {
      this.extension(id);
      const loaded = this.#extensions.get(id) as LoadedExtension;
      const context: ExtensionContext = {
        ...runtime,
        declaration: loaded.declaration,
        baseDir: loaded.source.baseDir ?? process.cwd(),
      };
      instance = instantiateHandler(loaded, context);
      // A failed import must not be cached: the user may fix the file and retry in the same process.
      instance.catch(() => this.#instances.delete(id));
      this.#instances.set(id, instance);
    }
    return instance;
  }
}

/** Loads built-in and user declarations; any invalid file fails the load with its path and field. */
export async function loadCatalog(options: CatalogOptions = {}): Promise<Catalog> {
  const cwd = options.cwd ?? process.cwd();
  const extensions = new Map<string, LoadedExtension>();
  const profiles = new Map<string, LoadedProfile>();

  const builtins = options.builtins ?? builtinDeclarations;
  const layers: DeclarationSource[][] = [[...builtins]];
  for (const dir of options.userDirs ?? []) layers.push(await readUserDir(dir, cwd));

  for (const layer of layers) {
    for (const source of layer) {
      if (source.kind === 'extension') {
        const loaded = loadExtension(source);
        checkBuiltinHandler(loaded);
        extensions.set(loaded.declaration.id, loaded);
      } else {
        const loaded = loadProfile(source);
        profiles.set(loaded.profile.id, loaded);
      }
    }
  }
  for (const { profile, source } of profiles.values()) checkReferences(profile, source, extensions);
  return new Catalog(extensions, profiles);
}

async function readUserDir(dir: string, cwd: string): Promise<DeclarationSource[]> {
  if (!existsSync(dir)) {
    throw new ConfigError(`declarations directory ${dir} does not exist`, { field: 'config_dir', dir });
  }
  const sources: DeclarationSource[] = [];
  for (const kind of ['extension', 'profile'] as const) {
    const kindDir = join(dir, `${kind}s`);
    if (!existsSync(kindDir)) continue;
    for (const name of (await readdir(kindDir)).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const path = join(kindDir, name);
      sources.push(await readDeclarationFile(kind, path, relative(cwd, path) || path, kindDir));
    }
  }
  return sources;
}

function checkReferences(
  profile: Profile,
  source: DeclarationSource,
  extensions: Map<string, LoadedExtension>,
) {
  const known = () => [...extensions.keys()].sort().join(', ');
  if (!extensions.has(profile.extension)) {
    throw new ConfigError(
      `${source.displayPath}: extension: unknown extension "${profile.extension}" (known: ${known()})`,
      { file: source.displayPath, field: 'extension' },
    );
  }
  profile.routing?.candidates.forEach((candidate, index) => {
    if (!extensions.has(candidate.extension)) {
      throw new ConfigError(
        `${source.displayPath}: routing.candidates[${index}].extension: unknown extension "${candidate.extension}" (known: ${known()})`,
        { file: source.displayPath, field: `routing.candidates[${index}].extension` },
      );
    }
  });
}

/** A `builtin:<name>` handler must be one sand-boxer ships. */
function checkBuiltinHandler({ declaration, source }: LoadedExtension): void {
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
}
