import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, messageOf, ProvisionError } from '../errors.js';
import type { SandboxChannel } from '../extensions/contract.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { resolveTarget } from './targets.js';

/**
 * Readiness beyond container health: `http://web:8080/health` (a 2xx), `tcp://db:5432` (accepts a
 * connection), `log://worker/ready to accept/` (the service logged a line matching the pattern).
 * Evaluated from the sandbox's host, through one connection to it.
 */
export type ReadinessCheck =
  | { kind: 'http'; text: string; target: string; path: string; publishedOnly?: boolean }
  | { kind: 'tcp'; text: string; target: string; publishedOnly?: boolean }
  | { kind: 'log'; text: string; service: string; pattern: RegExp };

/** Parses one check; an error says what the three forms look like. */
export function parseCheck(text: string): ReadinessCheck {
  const http = /^http:\/\/([^/\s]+)(\/\S*)?$/.exec(text);
  if (http) return { kind: 'http', text, target: http[1] as string, path: http[2] ?? '/' };
  const tcp = /^tcp:\/\/([^/\s]+)$/.exec(text);
  if (tcp) return { kind: 'tcp', text, target: tcp[1] as string };
  const log = /^log:\/\/([a-zA-Z0-9][a-zA-Z0-9_.-]*)\/(.+)\/$/.exec(text);
  if (log) {
    try {
      return { kind: 'log', text, service: log[1] as string, pattern: new RegExp(log[2] as string) };
    } catch (error) {
      throw new InputError(`wait_for: ${JSON.stringify(text)}: ${messageOf(error)}`, { field: 'wait_for' });
    }
  }
  throw new InputError(
    `wait_for: ${JSON.stringify(text)}: expected http://service:port/path, tcp://service:port or log://service/pattern/`,
    { field: 'wait_for' },
  );
}

/** What checking needs: a connection to the host, and a service's recent log. */
export interface CheckAccess {
  channel: () => Promise<SandboxChannel>;
  log: (service: string) => Promise<string>;
}

/**
 * Runs every check until all pass, or until `timeoutSeconds`; then a ProvisionError with each
 * failing check's last error. Progress says which are still waited for.
 */
export async function waitForChecks(
  record: SandboxRecord,
  checks: ReadinessCheck[],
  access: CheckAccess,
  options: { timeoutSeconds: number; progress?: (message: string) => void; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const failing = new Map<string, string>(checks.map((c) => [c.text, 'not checked yet']));
  let reported = '';
  for (;;) {
    for (const check of checks) {
      if (!failing.has(check.text)) continue;
      const problem = await runCheck(record, check, access).catch((error: unknown) => {
        // A check that names no port of this sandbox will never pass: say so now, not at the timeout.
        if (error instanceof InputError)
          throw new ProvisionError(`readiness check ${check.text}: ${error.message}`);
        return messageOf(error);
      });
      if (problem === undefined) failing.delete(check.text);
      else failing.set(check.text, problem);
    }
    if (failing.size === 0) return;
    if (Date.now() > deadline) {
      const lines = [...failing].map(([text, problem]) => `${text}: ${problem}`);
      throw new ProvisionError(
        `readiness checks failed after ${options.timeoutSeconds} s: ${lines.join('; ')}`,
      );
    }
    const waiting = [...failing.keys()].join(', ');
    if (waiting !== reported) options.progress?.(`waiting for ${waiting}`);
    reported = waiting;
    await sleep(500, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/** Undefined when the check passes, else why not. */
async function runCheck(
  record: SandboxRecord,
  check: ReadinessCheck,
  access: CheckAccess,
): Promise<string | undefined> {
  if (check.kind === 'log') {
    return check.pattern.test(await access.log(check.service))
      ? undefined
      : `no line matches /${check.pattern.source}/ yet`;
  }
  const target = resolveTarget(record, check.target, { publishedOnly: check.publishedOnly === true });
  const stream = await (await access.channel()).connect(target.host, target.port);
  if (check.kind === 'tcp') {
    stream.destroy();
    return undefined;
  }
  const status = await httpStatus(stream, check.target, check.path);
  return status >= 200 && status < 300 ? undefined : `HTTP ${status}`;
}

/** Sends a GET over an open stream and reads the status code of the answer (5 s at most). */
function httpStatus(stream: Duplex, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = '';
    const done = (error?: Error, status?: number) => {
      clearTimeout(timer);
      stream.destroy();
      if (error) reject(error);
      else resolve(status as number);
    };
    const timer = setTimeout(() => done(new Error('no answer within 5 s')), 5000);
    stream.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const line = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(head);
      if (line) done(undefined, Number(line[1]));
      else if (head.includes('\r\n') || head.length > 1024) done(new Error('not an HTTP answer'));
    });
    stream.on('error', (error: Error) => done(error));
    stream.on('close', () => done(new Error('closed without an answer')));
    stream.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nUser-Agent: sand-boxer\r\n\r\n`,
    );
  });
}
