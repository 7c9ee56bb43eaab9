import {
  type CheckResponse,
  type OpenApiDocument,
  OpenApiMismatchError,
  openApiCheck,
} from './openapi-check.js';

/**
 * fetch for talking to `sandboxer serve`: every response is checked against the OpenAPI document
 * (openapi-check.ts) before the test sees it, so the whole e2e suite keeps the document honest.
 */

/**
 * The document, fetched once from the first server a run talks to: every server of a run is the
 * same built bundle, so they all serve the same document.
 */
let checker: Promise<CheckResponse> | undefined;

async function loadChecker(origin: string): Promise<CheckResponse> {
  const response = await fetch(`${origin}/openapi.json`);
  if (response.status !== 200) {
    throw new Error(`GET ${origin}/openapi.json answered ${response.status}: ${await response.text()}`);
  }
  return openApiCheck((await response.json()) as OpenApiDocument);
}

/** fetch(url, init), then the response checked against the document (it throws on a mismatch). */
export async function checkedFetch(url: string, init?: RequestInit): Promise<Response> {
  const target = new URL(url);
  if (!checker) {
    const pending = loadChecker(target.origin);
    checker = pending;
    // A server that was not up yet must not leave every later check failing.
    pending.catch(() => {
      if (checker === pending) checker = undefined;
    });
  }
  const check = await checker;
  const response = await fetch(url, init);
  const json = /^application\/json\b/i.test(response.headers.get('content-type') ?? '');
  let body: unknown;
  if (json) {
    // A clone, so the caller can still read the body as it likes.
    const text = await response.clone().text();
    try {
      body = JSON.parse(text);
    } catch {
      throw new OpenApiMismatchError(
        `${init?.method ?? 'GET'} ${target.pathname} → ${response.status}: says JSON, but is not: ${text.slice(0, 500)}`,
      );
    }
  }
  check({
    method: init?.method ?? 'GET',
    path: target.pathname,
    status: response.status,
    headers: response.headers,
    body,
  });
  return response;
}
