/** The groups operations are listed under; every operation names exactly one. */
const TAGS = [
  { name: 'sandboxes', description: 'Create, list, show, extend and destroy sandboxes' },
  { name: 'reach', description: "A sandbox's service logs, and commands run in it" },
  { name: 'snapshots', description: 'Snapshots of sandboxes, and restoring them' },
  { name: 'catalog', description: 'Profiles, extensions, estimates and routing decisions' },
  { name: 'credits', description: 'Balances, grants, history and the billing export' },
  { name: 'hosts', description: "The hosts file's hosts and pools: health, probes, drains" },
  { name: 'service', description: 'The server itself: liveness and this document' },
] as const;

export type Tag = (typeof TAGS)[number]['name'];

/**
 * The document's own fields; the paths come from the routes. OpenAPI 3.1 because its schemas are
 * JSON Schema 2020-12: what zod generates for loose objects and records (`additionalProperties: {}`,
 * `type: [..., "null"]`) is valid there, and any JSON Schema validator checks a response against it
 * as it is, where 3.0's `nullable` without a `type` broke both linters and validators.
 */
export const DOCUMENT_CONFIG = {
  openapi: '3.1.0',
  info: {
    title: 'sand-boxer',
    version: '0.1.0',
    description: 'Throwaway sandboxes on demand, guaranteed to be torn down.',
    license: { name: 'MIT', identifier: 'MIT' },
  },
  // `sandboxer serve`'s default address (packages/cli/src/cli.ts: --host 127.0.0.1 --port 7070).
  servers: [{ url: 'http://127.0.0.1:7070', description: 'sandboxer serve on its default address' }],
  tags: [...TAGS],
  security: [{ bearer: [] }],
};
