import { Readable } from 'node:stream';
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { logLines, parseSandboxId, TailBuffer } from '@sand-boxer/core';
import { stream } from 'hono/streaming';
import { type AppEnv, type RouteContext, sandboxFor } from './route-context.js';
import { apiRoute, failure, json } from './route-helpers.js';
import { idParam, nameField } from './schemas.js';

/** A service's log tail, and a command's output, kept at most this long each (the end is kept). */
const MAX_OUTPUT = 1024 * 1024;

const logsQuery = z.object({
  service: z
    .union([nameField(), z.array(nameField()).max(100)])
    .optional()
    .openapi({ description: 'Only these services (repeat the parameter for several)' }),
  tail: z
    .string()
    .regex(/^\d{1,6}$/, 'expected a number of lines')
    .optional()
    .openapi({ description: 'Lines per service from the end (default 100)' }),
  since: z.string().max(40).optional().openapi({ description: 'Only newer lines: 10m, or a timestamp' }),
  follow: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'Keep streaming until the client goes' }),
});

const execBodySchema = z
  .strictObject({
    argv: z
      .array(z.string().max(65_536))
      .min(1)
      .max(1000)
      .openapi({ example: ['sh', '-c', 'echo "$0"', 'it works'] }),
    service: nameField()
      .optional()
      .openapi({ description: 'Run in this compose service instead of the workspace' }),
    stdin: z
      .string()
      .max(512 * 1024)
      .optional(),
    timeout: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .optional()
      .openapi({ description: 'Seconds before the command is stopped (default 600)' }),
  })
  .openapi('ExecRequest');

const execResultSchema = z
  .object({
    exit_code: z.number().int().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    stdout_truncated: z.boolean(),
    stderr_truncated: z.boolean(),
    timed_out: z.boolean(),
  })
  .openapi('ExecResult');

/**
 * Reaching a sandbox's workload over HTTP: its services' logs (streamed with ?follow=true) and one
 * command in it, with its exit code. Authenticated like every /v1 route; an exec is as powerful as
 * the host's SSH key, so a server that exposes it should only be given to clients with tokens.
 */
export function registerReachRoutes(app: OpenAPIHono<AppEnv>, context: RouteContext): void {
  const { manager } = context;

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/sandboxes/{id}/logs',
      operationId: 'getSandboxLogs',
      tags: ['reach'],
      summary: "A sandbox's service logs, each line prefixed with its service",
      description:
        'Plain text, `service | line`. With ?follow=true the response streams new lines until the client disconnects (or the sandbox goes).',
      request: { params: idParam, query: logsQuery },
      responses: {
        200: { content: { 'text/plain': { schema: z.string() } }, description: 'the log lines' },
        404: failure('no such sandbox'),
        409: failure('the sandbox is not running'),
        422: failure("this sandbox's extension cannot read a service's log"),
        502: failure('the SSH connection to the host failed'),
      },
    }),
    async (c) => {
      const id = parseSandboxId(c.req.valid('param').id);
      const query = c.req.valid('query');
      const services = query.service === undefined ? [] : [query.service].flat();
      const options = {
        lines: Number(query.tail ?? 100),
        maxBytes: MAX_OUTPUT,
        ...(services.length > 0 ? { services } : {}),
        ...(query.since ? { since: query.since } : {}),
      };
      await sandboxFor(c, manager, id);
      if (query.follow !== 'true') {
        let text = '';
        const lines = logLines((line) => {
          text += line;
        });
        const shown = await manager.logs(id, {
          ...options,
          write: (service, chunk) => {
            lines.write(service, chunk);
            lines.flush();
          },
        });
        return c.text(shown ? text : '', 200);
      }
      // Following: the status is sent before the first line, so a later failure ends the stream
      // with a last line that says why.
      return stream(c, async (out) => {
        const controller = new AbortController();
        out.onAbort(() => controller.abort());
        c.req.raw.signal.addEventListener('abort', () => controller.abort(), { once: true });
        const lines = logLines((line) => void out.write(line));
        try {
          await manager.logs(id, { ...options, follow: true, signal: controller.signal, write: lines.write });
        } catch (error) {
          if (!controller.signal.aborted)
            await out.write(`sandboxer: the log stream stopped: ${context.respond(error).body.message}\n`);
        }
        lines.flush();
      }) as never;
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/sandboxes/{id}/exec',
      operationId: 'execInSandbox',
      tags: ['reach'],
      summary: 'Run a command in a sandbox (its workspace, or a compose service)',
      description:
        'argv is run as is: no shell re-splits or interprets it. Answers when the command ends, with its exit code and the last MiB of its stdout and stderr.',
      request: {
        params: idParam,
        body: { content: { 'application/json': { schema: execBodySchema } }, required: true },
      },
      responses: {
        200: json(execResultSchema, 'the command ran (whatever its exit code)'),
        404: failure('no such sandbox'),
        409: failure('the sandbox is not ready'),
        422: failure("this sandbox's extension cannot run commands (saas-stub)"),
        502: failure('the SSH connection to the host failed'),
      },
    }),
    async (c) => {
      const id = parseSandboxId(c.req.valid('param').id);
      const body = c.req.valid('json');
      await sandboxFor(c, manager, id);
      const stdout = new TailBuffer(MAX_OUTPUT);
      const stderr = new TailBuffer(MAX_OUTPUT);
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(
        () => {
          timedOut = true;
          controller.abort();
        },
        (body.timeout ?? 600) * 1000,
      );
      // A client that hangs up stops its command.
      c.req.raw.signal.addEventListener('abort', () => controller.abort(), { once: true });
      try {
        const code = await manager.exec(id, {
          argv: body.argv,
          ...(body.service ? { service: body.service } : {}),
          ...(body.stdin !== undefined ? { stdin: Readable.from([body.stdin]) } : {}),
          stdout: (chunk) => stdout.push(chunk),
          stderr: (chunk) => stderr.push(chunk),
          signal: controller.signal,
        });
        return c.json(
          {
            exit_code: timedOut ? null : code,
            stdout: stdout.text(),
            stderr: stderr.text(),
            stdout_truncated: stdout.truncated,
            stderr_truncated: stderr.truncated,
            timed_out: timedOut,
          },
          200,
        );
      } finally {
        clearTimeout(timer);
      }
    },
  );
}
