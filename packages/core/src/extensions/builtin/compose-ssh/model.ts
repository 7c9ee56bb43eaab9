import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * The names a labels override needs (services, named volumes, networks, the file format version),
 * as `compose config` merges them — either from its output on the host, or worked out on this
 * machine from the repo's own compose files before they are synced, which saves a remote
 * `compose config` per create (about a second with Compose v1's Python start-up).
 */
export interface ComposeModel {
  version?: string;
  services: Record<string, unknown>;
  volumes: Record<string, { external?: unknown } | null>;
  networks: Record<string, { external?: unknown } | null>;
}

/** Compose files larger than this are left to the host's `compose config`. */
const MAX_LOCAL_BYTES = 1024 * 1024;

/** `compose config`'s merged output as a model. */
export function modelOf(yamlText: string): ComposeModel {
  return modelOfDocument(parseYaml(yamlText, { merge: true }));
}

function modelOfDocument(parsed: unknown): ComposeModel {
  const doc = (parsed ?? {}) as Partial<ComposeModel> & { version?: unknown };
  return {
    ...(doc.version !== undefined && doc.version !== null ? { version: String(doc.version) } : {}),
    services: doc.services ?? {},
    volumes: doc.volumes ?? {},
    networks: doc.networks ?? {},
  };
}

/**
 * The merged model of `files` (relative to `repo`) read here, or undefined when only the host's
 * `compose config` can tell: a file that is missing, a symlink (the host resolves it on its side),
 * too large or not plain YAML maps, and anything that takes names from elsewhere or leaves services
 * out — a top-level `include`, `extends` from another file, `profiles`, an interpolated version,
 * a volume or network declared in two files or interpolated.
 * Later files override earlier ones key by key, as Compose merges them.
 */
export function localComposeModel(repo: string, files: string[]): ComposeModel | undefined {
  const texts: string[] = [];
  for (const file of files) {
    const path = join(repo, file);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size > MAX_LOCAL_BYTES) return undefined;
    texts.push(readFileSync(path, 'utf8'));
  }
  return mergedModel(texts);
}

/**
 * The merged model of compose files' texts, in order, or undefined when only `compose config` can
 * tell (see localComposeModel). Also how a podman-compose host's files are read: podman-compose
 * 1.0.3 has no `config` command.
 */
export function mergedModel(texts: string[]): ComposeModel | undefined {
  const merged: ComposeModel = { services: {}, volumes: {}, networks: {} };
  for (const text of texts) {
    let raw: unknown;
    try {
      raw = parseYaml(text, { merge: true });
    } catch {
      return undefined; // the host's `compose config` gives the user its own message
    }
    if (!isMap(raw) || 'include' in raw) return undefined;
    const model = modelOfDocument(raw);
    if (![model.services, model.volumes, model.networks].every(isMap)) return undefined;
    for (const service of Object.values(model.services)) {
      if (!isMap(service) || 'profiles' in service) return undefined;
      if (isMap(service.extends) && 'file' in service.extends) return undefined;
    }
    if (model.version?.includes('$')) return undefined;
    // Compose merges a volume or network named in two files key by key (and reads `external:
    // ${VAR}` after interpolation): only the host's `compose config` knows how such entries end up.
    const named = [...Object.keys(model.volumes), ...Object.keys(model.networks)];
    const seen = [...Object.keys(merged.volumes), ...Object.keys(merged.networks)];
    if (named.some((name) => seen.includes(name))) return undefined;
    if (JSON.stringify([model.volumes, model.networks]).includes('$')) return undefined;
    merged.version ??= model.version;
    Object.assign(merged.services, model.services);
    Object.assign(merged.volumes, model.volumes);
    Object.assign(merged.networks, model.networks);
  }
  return merged;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
