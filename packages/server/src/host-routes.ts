import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { hostStatusSchema } from '@sand-boxer/core';
import { requireAdmin } from './auth/scope.js';
import { type AppEnv, principalOf, type RouteContext } from './route-context.js';
import { apiRoute, failure, json } from './route-helpers.js';
import { nameField } from './schemas.js';

// Re-made here (extend) so the schema carries zod-openapi's `.openapi`.
const statusSchema = hostStatusSchema.extend({}).openapi('HostStatus');
const overviewSchema = z
  .object({
    hosts: z.array(
      z.object({
        host: z.string(),
        address: z.string(),
        pools: z.array(z.string()),
        live: z.number().int(),
        capacity: z.number().int().nullable(),
        health: z.enum(['healthy', 'resting', 'drained']),
        drained_at: z.string().optional(),
        resting_until: z.string().optional(),
        last_error: z.object({ at: z.string(), message: z.string() }).optional(),
        probe: z
          .object({
            at: z.string(),
            free_disk_bytes: z.number().optional(),
            free_memory_bytes: z.number().optional(),
            error: z.string().optional(),
          })
          .optional(),
      }),
    ),
    pools: z.array(
      z.object({
        pool: z.string(),
        placement: z.string(),
        hosts: z.array(z.string()),
        live: z.number().int(),
        capacity: z.number().int().nullable(),
      }),
    ),
  })
  .openapi('Hosts');
const hostParam = z.object({
  host: nameField(64).openapi({ param: { name: 'host', in: 'path' }, example: 'docker1' }),
});

const adminOnly = failure('needs an admin token (when tokens are scoped)');
const unknownHost = failure('no such host or pool in the hosts file');

/** The hosts file's hosts and pools: load and health for everyone, probes and drains for admins. */
export function registerHostRoutes(app: OpenAPIHono<AppEnv>, { manager }: RouteContext): void {
  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/hosts',
      operationId: 'listHosts',
      tags: ['hosts'],
      summary: 'Every host and pool: live/capacity, health, drained, last probe',
      responses: { 200: json(overviewSchema, 'hosts and pools') },
    }),
    async (c) => c.json(await manager.hosts.list(), 200),
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/hosts/probe',
      operationId: 'probeHosts',
      tags: ['hosts'],
      summary: "Probe a host, a pool's hosts or every host (admin); one that answers is healthy again",
      request: {
        body: {
          content: { 'application/json': { schema: z.strictObject({ host: nameField(64).optional() }) } },
          required: false,
        },
      },
      responses: {
        200: json(z.array(statusSchema), 'what each host said'),
        403: adminOnly,
        404: unknownHost,
        422: failure('no extension can probe a host'),
      },
    }),
    async (c) => {
      requireAdmin(principalOf(c), 'probing hosts');
      const body = (await c.req.json().catch(() => ({}))) as { host?: string };
      return c.json(await manager.hosts.probe(body.host), 200);
    },
  );

  for (const [action, drained] of [
    ['drain', true],
    ['undrain', false],
  ] as const) {
    app.openapi(
      apiRoute({
        method: 'post',
        path: `/v1/hosts/{host}/${action}`,
        operationId: drained ? 'drainHost' : 'undrainHost',
        tags: ['hosts'],
        summary: drained
          ? 'Drain a host (admin): no new sandboxes there; those there live on'
          : 'Undrain a host (admin): it takes new sandboxes again',
        request: { params: hostParam },
        responses: { 200: json(statusSchema, 'its status'), 403: adminOnly, 404: unknownHost },
      }),
      async (c) => {
        requireAdmin(principalOf(c), `${action}ing a host`);
        const { host } = c.req.valid('param');
        return c.json(await (drained ? manager.hosts.drain(host) : manager.hosts.undrain(host)), 200);
      },
    );
  }
}
