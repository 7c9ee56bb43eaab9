import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import type { InputKind } from '../declarations/extension-schema.js';
import type { Profile } from '../declarations/profile-schema.js';
import { InputError } from '../errors.js';
import type { RawInputs } from '../extensions/contract.js';
import { accountOf, checkAccount } from '../metering/accounts.js';
import { parseCheck, type ReadinessCheck } from '../reach/checks.js';
import type { SnapshotRecord } from '../records/snapshot.js';
import { formatDuration, parseDurationSeconds } from '../util/duration.js';
import { didYouMean } from '../util/suggest.js';
import { defaultConsumer } from './keys.js';

/** What a caller asks for when it creates a sandbox (or asks where one would go). */
export interface CreateRequest {
  /** `saas-stub` or `profile.saas-stub`. */
  profile: string;
  inputs?: RawInputs;
  /** Who the sandbox is for (a CI run, a person); defaults to `user@machine`. */
  consumer?: string;
  /** A hosts-file alias, `user@address[:port]`, or `local`. */
  host?: string;
  /** `30m`, `2h`, or seconds; defaults to the profile's TTL and may not exceed its `max_ttl`. */
  ttl?: string | number;
  /** The credits account that pays; defaults to the consumer's account (see accountOf). */
  account?: string;
  /** Readiness checks on top of the profile's `wait_for` (see reach/checks.ts). */
  waitFor?: string[];
  /** A lease (`60s`; `0` for none): torn down when not renewed for this long (see --lease). */
  lease?: string | number;
  /**
   * The lease only where the chosen backend keeps it itself (the action's default without a server);
   * without this, a backend that does not gets a lease the store keeps (lifecycle/lease.ts).
   */
  leaseIfSupported?: boolean;
}

/**
 * How far a caller's inputs may reach, set once by whoever opens the manager. A local user may name
 * any directory and any host; a remote client of `serve` is `confined`: its local paths must lie
 * inside `baseDir`, the hosts it names (the request's `host` and every `host-ref` input) must be
 * hosts-file aliases, and it may not choose `remote-path` inputs (only the profile sets those).
 */
export interface InputPolicy {
  /** Relative `local-path` inputs are taken from here (the CLI's cwd, the action's workspace). */
  baseDir: string;
  confined?: boolean;
}

/** A create request checked and resolved once, before routing: what the lifecycle works from. */
export interface CreatePlan {
  profile: Profile;
  /** Profile defaults overlaid with the request's; `local-path` inputs absolute and checked. */
  inputs: RawInputs;
  host: string | undefined;
  ttlSeconds: number;
  /** The lease, if any (at least MIN_LEASE_SECONDS, at most the TTL). */
  leaseSeconds?: number;
  /** See CreateRequest.leaseIfSupported. */
  leaseIfSupported?: boolean;
  consumer: string;
  account: string;
  /** A restore: the snapshot it comes from (only its extension can take it). */
  restore?: { snapshot: string; extension: string };
  /** Checked once the extension says ready: the profile's `wait_for` and the request's. */
  checks: ReadinessCheck[];
  checkTimeoutSeconds: number;
  /** Hosts a failover left behind during this create, with why (routing passes over them). */
  exclude?: Map<string, string>;
}

export interface PlanContext {
  catalog: Catalog;
  policy: InputPolicy;
  /** The hosts-file aliases and pool names, for a confined caller. */
  aliases: () => Promise<string[]>;
}

/**
 * Turns a request into a plan: the profile, its defaults overlaid with the inputs, every required
 * input present, every input checked against its declared kind and the caller's policy, the TTL.
 * Nothing is recorded before this has passed. With `restore`, the snapshot's inputs sit between the
 * defaults and the request's, and inputs that feed only the first copy are not required.
 */
export async function planCreate(
  context: PlanContext,
  request: CreateRequest,
  restore?: SnapshotRecord,
): Promise<CreatePlan> {
  const profile = context.catalog.profile(request.profile);
  const inputs = await checkInputs(context, profile, request.inputs ?? {}, restore?.inputs);
  if (!restore) requireInputs(profile, inputs);
  if (context.policy.confined && request.host !== undefined && request.host !== 'local') {
    await requireAlias(context, 'host', request.host);
  }
  const consumer = request.consumer ?? defaultConsumer();
  checkAccount(consumer, 'consumer');
  const account = request.account ?? accountOf(consumer);
  checkAccount(account);
  const ttlSeconds = resolveTtl(profile, request.ttl);
  const leaseSeconds = resolveLease(request.lease, ttlSeconds);
  return {
    profile,
    inputs,
    host: request.host,
    ttlSeconds,
    ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
    ...(leaseSeconds !== undefined && request.leaseIfSupported ? { leaseIfSupported: true } : {}),
    consumer,
    account,
    ...(restore ? { restore: { snapshot: restore.id, extension: restore.extension } } : {}),
    checks: [
      ...profile.wait_for.map(parseCheck),
      // A remote client's checks reach only the sandbox's published ports, not the host's network.
      ...(request.waitFor ?? []).map((text) => ({
        ...parseCheck(text),
        ...(context.policy.confined ? { publishedOnly: true } : {}),
      })),
    ],
    checkTimeoutSeconds: checkTimeout(profile, request.inputs ?? {}),
  };
}

/**
 * The checks' time limit: a `wait_timeout` input in the request (how long the user said readiness
 * may take, e.g. the action's wait-timeout) bounds them too; else the profile's wait_for_timeout.
 */
function checkTimeout(profile: Profile, given: RawInputs): number {
  const seconds = Number(given.wait_timeout);
  return Number.isInteger(seconds) && seconds > 0 ? seconds : profile.wait_for_timeout;
}

/**
 * The profile's defaults overlaid with `base` (a snapshot's inputs) and then the caller's `given`
 * inputs, each checked against its declared kind and the caller's policy; `local-path` inputs come
 * back absolute.
 */
export async function checkInputs(
  context: PlanContext,
  profile: Profile,
  given: RawInputs,
  base: RawInputs = {},
): Promise<RawInputs> {
  const { policy } = context;
  checkInputShapes(given);
  const kinds = inputKinds(context.catalog, profile);
  refuseUnknownInputs(profile, kinds, given);
  const inputs: RawInputs = { ...profile.inputs.defaults, ...base, ...given };
  for (const [name, value] of Object.entries(inputs)) {
    const kind = kinds.get(name) ?? 'text';
    if (kind === 'local-path') inputs[name] = localDirectory(name, value, policy);
    else if (policy.confined && kind === 'host-ref')
      await requireAlias(context, `input "${name}"`, value, name);
    else if (policy.confined && kind === 'remote-path' && Object.hasOwn(given, name)) {
      throw new InputError(
        `input "${name}": a remote path is fixed by the profile or the hosts file and cannot be chosen here`,
        { inputs: [name] },
      );
    }
  }
  return inputs;
}

/** How many inputs a request may give, and how long each value may be: bounds for every surface. */
const MAX_INPUTS = 100;
const MAX_INPUT_BYTES = 64 * 1024;

/** Input names like `repo`; at most MAX_INPUTS of them, none longer than MAX_INPUT_BYTES. */
function checkInputShapes(given: RawInputs): void {
  const names = Object.keys(given);
  if (names.length > MAX_INPUTS) {
    throw new InputError(`inputs: at most ${MAX_INPUTS} inputs (got ${names.length})`, { field: 'inputs' });
  }
  for (const name of names) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) {
      throw new InputError(
        `input ${JSON.stringify(name.slice(0, 64))}: not an input name (expected one like "repo")`,
        {
          field: 'inputs',
        },
      );
    }
    const value = given[name];
    if (typeof value !== 'string' || Buffer.byteLength(value) > MAX_INPUT_BYTES) {
      throw new InputError(`input "${name}": expected text of at most ${MAX_INPUT_BYTES} bytes`, {
        inputs: [name],
      });
    }
  }
}

/** Inputs core itself reads, whatever the extension: `wait_timeout` also bounds the readiness checks. */
const CORE_INPUTS = ['wait_timeout'];

/**
 * An input no candidate extension declares, and the profile does not name, would be ignored: a typo
 * (`compose_fle`) must not pass as a setting. Refused with the closest known name.
 */
function refuseUnknownInputs(profile: Profile, kinds: Map<string, InputKind>, given: RawInputs): void {
  const known = new Set([
    ...kinds.keys(),
    ...Object.keys(profile.inputs.defaults),
    ...profile.inputs.required,
    ...CORE_INPUTS,
  ]);
  const unknown = Object.keys(given).filter((name) => !known.has(name));
  if (unknown.length === 0) return;
  const [first] = unknown as [string];
  throw new InputError(
    `${profile.id} has no input "${first}"${didYouMean(first, known)}; its inputs: ${[...known].sort().join(', ')}`,
    { profile: profile.id, unknown_inputs: unknown },
  );
}

/** Every required input must be non-empty. */
function requireInputs(profile: Profile, inputs: RawInputs): void {
  const missing = profile.inputs.required.filter((name) => !inputs[name]);
  if (missing.length === 0) return;
  throw new InputError(
    `${profile.id}: ${missing.length === 1 ? 'input' : 'inputs'} ${missing.map((n) => `"${n}"`).join(', ')} required`,
    { profile: profile.id, inputs: missing },
  );
}

/** What the extensions a profile may route to declare about each input (the strictest kind wins). */
function inputKinds(catalog: Catalog, profile: Profile): Map<string, InputKind> {
  const kinds = new Map<string, InputKind>();
  const extensions = profile.routing?.candidates.map((c) => c.extension) ?? [profile.extension];
  for (const id of new Set(extensions)) {
    for (const [name, input] of Object.entries(catalog.extension(id).inputs)) {
      if (kinds.get(name) === undefined || kinds.get(name) === 'text') kinds.set(name, input.kind);
    }
  }
  return kinds;
}

/**
 * A `local-path` input made absolute against the policy's base and checked to be a directory. A
 * confined caller's path must lie inside the base, and is refused with one message whether it is
 * outside, missing or not a directory, so refusals reveal nothing about the server's files.
 */
function localDirectory(name: string, value: string, policy: InputPolicy): string {
  const absolute = resolve(policy.baseDir, value);
  if (policy.confined) {
    const real = realpathIfExists(absolute);
    const root = realpathIfExists(policy.baseDir) ?? policy.baseDir;
    if (!real || !inside(root, real) || !isDirectory(real)) {
      throw new InputError(
        `input "${name}": ${JSON.stringify(value)} is not a directory inside the repo root`,
        {
          inputs: [name],
        },
      );
    }
    return real;
  }
  if (!isDirectory(absolute)) {
    throw new InputError(`input "${name}": ${absolute} is not a directory`, { inputs: [name] });
  }
  return absolute;
}

async function requireAlias(
  context: PlanContext,
  what: string,
  value: string,
  input?: string,
): Promise<void> {
  const aliases = await context.aliases();
  if (Object.hasOwn(Object.fromEntries(aliases.map((a) => [a, true])), value)) return;
  throw new InputError(
    `${what}: ${JSON.stringify(value)} is not a hosts-file alias; here hosts may only be named by alias (${aliases.join(', ') || 'none configured'})`,
    input ? { inputs: [input] } : { field: 'host' },
  );
}

/** The sandbox's lifetime in seconds: the requested TTL (at most `max_ttl`), else the profile's. */
export function resolveTtl(profile: Profile, requested: string | number | undefined): number {
  if (requested === undefined) return profile.ttl;
  const seconds = parseTtl(requested);
  if (profile.max_ttl !== undefined && seconds > profile.max_ttl) {
    throw new InputError(
      `ttl: ${formatDuration(seconds)} is longer than ${profile.id}'s max_ttl of ${formatDuration(profile.max_ttl)}`,
      { field: 'ttl', ttl: requested, max_ttl: profile.max_ttl },
    );
  }
  return seconds;
}

/**
 * Renewals come every lease/4 and the host looks every 5 s: a shorter lease than this would end
 * sandboxes over an ordinary network hiccup.
 */
export const MIN_LEASE_SECONDS = 20;

/** The lease as the caller gave it: undefined for none (absent or `0`), else seconds within the TTL. */
function resolveLease(requested: string | number | undefined, ttlSeconds: number): number | undefined {
  if (requested === undefined || requested === '' || requested === 0 || requested === '0') return undefined;
  const seconds = parseDurationSeconds(requested);
  if (seconds === undefined) {
    throw new InputError(
      `lease: expected a duration like "60s" or "2m" (or 0 for none), got ${JSON.stringify(requested)}`,
      { field: 'lease' },
    );
  }
  if (seconds < MIN_LEASE_SECONDS || seconds > ttlSeconds) {
    throw new InputError(
      `lease: ${formatDuration(seconds)} must be at least ${MIN_LEASE_SECONDS}s and at most the TTL (${formatDuration(ttlSeconds)})`,
      { field: 'lease' },
    );
  }
  return seconds;
}

/** A TTL as the caller gave it, in seconds. */
export function parseTtl(requested: string | number): number {
  const seconds = parseDurationSeconds(requested);
  if (seconds === undefined) {
    throw new InputError(
      `ttl: expected a duration like "90s", "30m", "1h30m", "1.5h" or "1d", got ${JSON.stringify(requested)}`,
      { field: 'ttl', ttl: requested },
    );
  }
  return seconds;
}

function realpathIfExists(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
