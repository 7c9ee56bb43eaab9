// A bounded load run against a running `sandboxer serve`: `pairs` create→destroy pairs, at most
// `concurrency` at a time, each create waited for (?wait=true). Returns the latency of every request
// and every error. Traffic goes only to the URL given (a server on loopback).

/** The p-th percentile (0–100) of sorted numbers, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** `fetch`: the e2e suite passes one that checks every response against the OpenAPI document. */
export async function runLoad({ url, token, pairs, concurrency, body, fetch = globalThis.fetch }) {
  const headers = {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const latencies = { create: [], destroy: [] };
  const errors = [];
  let next = 0;
  const started = performance.now();

  async function timed(kind, request) {
    const t0 = performance.now();
    const response = await request();
    latencies[kind].push(performance.now() - t0);
    return response;
  }

  async function worker() {
    while (next < pairs) {
      next += 1;
      const created = await timed('create', () =>
        fetch(`${url}/v1/sandboxes?wait=true`, { method: 'POST', headers, body: JSON.stringify(body) }),
      );
      const record = await created.json();
      if (created.status !== 201) {
        errors.push({ step: 'create', status: created.status, body: record });
        continue;
      }
      const destroyed = await timed('destroy', () =>
        fetch(`${url}/v1/sandboxes/${record.id}`, { method: 'DELETE', headers }),
      );
      const after = await destroyed.json();
      if (destroyed.status !== 200 || after.state !== 'destroyed')
        errors.push({ step: 'destroy', status: destroyed.status, body: after });
    }
  }

  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const summary = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return {
      count: sorted.length,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? 0,
    };
  };
  return {
    errors,
    seconds,
    pairsPerSecond: pairs / seconds,
    create: summary(latencies.create),
    destroy: summary(latencies.destroy),
  };
}
