import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';

/**
 * Checks a live response against the server's own OpenAPI 3.1 document: the operation is found by
 * method and concrete path, the status must be documented, so must its content type and required
 * headers, and a JSON body must match the response's schema (JSON Schema 2020-12, checked by ajv).
 * A mismatch throws, listing everything ajv found, so the e2e test that got the response fails.
 */

/** What a response is checked on. */
export interface Exchange {
  method: string;
  /** The request's path (a query string is ignored). */
  path: string;
  status: number;
  headers: Headers;
  /** The parsed body when the response is JSON. */
  body?: unknown;
}

export type CheckResponse = (exchange: Exchange) => void;

/** The parts of an OpenAPI document looked at here. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, ResponseObject> }>>;
}
interface ResponseObject {
  content?: Record<string, unknown>;
  headers?: Record<string, { required?: boolean }>;
}

/** Thrown when a response differs from the document; the message says how. */
export class OpenApiMismatchError extends Error {
  override name = 'OpenApiMismatchError';
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
/** Keywords OpenAPI 3.1 adds to JSON Schema (plus the document's own fields, never validated). */
const OPENAPI_KEYWORDS = ['example', 'discriminator', 'xml', 'externalDocs'];
const DOCUMENT_FIELDS = ['openapi', 'info', 'servers', 'paths', 'components', 'tags', 'security', 'webhooks'];
const DOCUMENT_ID = 'https://sand-boxer.invalid/openapi.json';

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Segments without a parameter: `/v1/credits/export` wins over `/v1/credits/{account}`. */
  literals: number;
  operationId: string;
  responses: Record<string, ResponseObject>;
}

const escapePointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

/** A checker for one document: its schemas are compiled once each, when first needed. */
export function openApiCheck(document: OpenApiDocument): CheckResponse {
  if (!document.openapi?.startsWith('3.1.')) {
    throw new OpenApiMismatchError(`expected an OpenAPI 3.1 document, got openapi: ${document.openapi}`);
  }
  // strict: an unknown keyword (3.0's `nullable` among them) is an error, not silently ignored.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  formats.default(ajv);
  ajv.addVocabulary([...OPENAPI_KEYWORDS, ...DOCUMENT_FIELDS]);
  // The whole document under one id, so `#/components/schemas/…` refs resolve as they are written.
  ajv.addSchema(document as object, DOCUMENT_ID);
  const validators = new Map<string, ValidateFunction>();
  const validator = (pointer: string) => {
    let validate = validators.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      validators.set(pointer, validate);
    }
    return validate;
  };

  const operations: Operation[] = Object.entries(document.paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => {
        const segments = template.split('/');
        const pattern = segments
          .map((s) => (/^\{.+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/');
        return {
          method,
          template,
          pattern: new RegExp(`^${pattern}$`),
          literals: segments.filter((s) => !s.startsWith('{')).length,
          operationId: operation.operationId ?? `${method} ${template}`,
          responses: operation.responses ?? {},
        };
      }),
  );

  return (exchange) => {
    const method = exchange.method.toLowerCase();
    const path = exchange.path.split('?')[0] as string;
    const seen = `${exchange.method.toUpperCase()} ${path} → ${exchange.status}`;
    const type = (exchange.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const operation = operations
      .filter((o) => o.method === method && o.pattern.test(path))
      .sort((a, b) => b.literals - a.literals)[0];

    if (!operation) {
      // No such operation: the server's not-found handler answers 404 with the Error body.
      if (exchange.status !== 404) {
        throw new OpenApiMismatchError(`${seen}: no operation in the document matches, yet it was not a 404`);
      }
      if (type === 'application/json') {
        report(seen, 'the Error schema', validator('/components/schemas/Error'), exchange.body);
      }
      return;
    }

    const where = `${operation.operationId} (${method.toUpperCase()} ${operation.template})`;
    const status = String(exchange.status);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => k in operation.responses);
    if (!key) {
      throw new OpenApiMismatchError(
        `${seen}: ${where} does not document ${status} (it documents ${Object.keys(operation.responses).join(', ')}); body: ${excerpt(exchange.body)}`,
      );
    }
    const response = operation.responses[key] as ResponseObject;
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      if (header.required && !exchange.headers.has(name)) {
        throw new OpenApiMismatchError(
          `${seen}: ${where} requires the ${name} header on ${key}; it was missing`,
        );
      }
    }
    if (!response.content || !type) return;
    if (!(type in response.content)) {
      throw new OpenApiMismatchError(
        `${seen}: ${where} documents ${Object.keys(response.content).join(', ')} for ${key}, the response was ${type}`,
      );
    }
    if (type !== 'application/json') return;
    const pointer = ['', 'paths', operation.template, method, 'responses', key, 'content', type, 'schema']
      .map(escapePointer)
      .join('/');
    report(seen, `${where}'s ${key} schema`, validator(pointer), exchange.body);
  };
}

/** Throws the ajv errors of a body that does not match, each with where in the body it is. */
function report(seen: string, what: string, validate: ValidateFunction, body: unknown): void {
  if (validate(body)) return;
  const problems = (validate.errors ?? []).map(
    (e: ErrorObject) =>
      `  ${e.instancePath || '(body)'} ${e.message}${describe(e.params)} [${e.schemaPath.replace(DOCUMENT_ID, '')}]`,
  );
  throw new OpenApiMismatchError(
    `${seen}: the body does not match ${what}:\n${problems.join('\n')}\nbody: ${excerpt(body)}`,
  );
}

function describe(params: Record<string, unknown>): string {
  const shown = Object.entries(params).filter(([, v]) => v !== undefined);
  return shown.length > 0 ? ` (${shown.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')})` : '';
}

/** Enough of a body to see what went wrong, without flooding the test report. */
function excerpt(body: unknown): string {
  const text = JSON.stringify(body) ?? String(body);
  return text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text;
}
