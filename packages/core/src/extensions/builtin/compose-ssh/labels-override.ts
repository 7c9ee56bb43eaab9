import { stringify as stringifyYaml } from 'yaml';
import { InputError } from '../../../errors.js';
import type { ComposeModel } from './model.js';

/**
 * From the merged compose model: the services to wait for, and an override file that labels every
 * service, the default network and each named volume with the sandbox id and its expiry.
 */
export function labelsOverride(
  config: ComposeModel,
  labels: Record<string, string>,
  selected: string[],
  options: { podmanCompose?: boolean } = {},
): { services: string[]; override: string } {
  const all = Object.keys(config.services);
  const unknown = selected.filter((s) => !all.includes(s));
  if (unknown.length > 0) {
    throw new InputError(
      `input "services": ${unknown.join(', ')} not in the compose files (services: ${all.join(', ')})`,
    );
  }
  const override: Record<string, unknown> = {};
  if (config.version) override.version = String(config.version);
  // podman-compose 1.0.3 merges override files only value for value of the same type ("can't merge
  // value of labels of type list and dict"): labels go in the form the service already uses, and a
  // volume declared empty (`data:`) is left to its project label.
  const asList = (service: unknown) =>
    options.podmanCompose && Array.isArray((service as { labels?: unknown } | null)?.labels);
  const listed = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  override.services = Object.fromEntries(
    all.map((name) => [name, { labels: asList(config.services[name]) ? listed : labels }]),
  );
  const volumes = Object.entries(config.volumes).filter(
    ([, v]) => !v?.external && !(options.podmanCompose && (v === null || v === undefined)),
  );
  if (volumes.length > 0) override.volumes = Object.fromEntries(volumes.map(([name]) => [name, { labels }]));
  // podman-compose refuses a declared network no service uses ("missing networks: default"): with
  // networks of its own and no default, a stack there gets no default network to label.
  const noDefault =
    options.podmanCompose && Object.keys(config.networks).length > 0 && !('default' in config.networks);
  if (!config.networks.default?.external && !noDefault) override.networks = { default: { labels } };
  // Every value double-quoted: Compose v1 reads YAML 1.1, where an unquoted ISO time or `true` is not a string.
  const text = stringifyYaml(override, {
    defaultStringType: 'QUOTE_DOUBLE',
    // Keys too: a service named `on` or `yes` would be a boolean to YAML 1.1.
    defaultKeyType: 'QUOTE_DOUBLE',
    aliasDuplicateObjects: false,
  });
  return { services: selected.length > 0 ? selected : all, override: text };
}
