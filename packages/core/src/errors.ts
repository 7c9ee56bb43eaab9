/**
 * Every typed error sand-boxer raises, in one place.
 *
 * Each error has a stable `code` that scripts and the outer layers (CLI exit codes, the action's
 * `setFailed`, HTTP status) rely on. Messages say what was wrong and how to fix it; `details` holds
 * structured context for `--json` output. Nothing secret ever goes into a message or `details`.
 */

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'INPUT_INVALID'
  | 'NOT_FOUND'
  | 'PROVISION_FAILED'
  | 'TEARDOWN_FAILED'
  | 'STATE_CONFLICT'
  | 'STATE_CORRUPT'
  | 'STATE_UNAVAILABLE'
  | 'INTERRUPTED'
  | 'SSH_FAILED'
  | 'REMOTE_COMMAND_FAILED'
  | 'INSUFFICIENT_CREDITS'
  | 'NO_BACKEND_AVAILABLE'
  | 'UNSUPPORTED'
  | 'SNAPSHOT_FAILED'
  | 'SNAPSHOT_CORRUPT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN';

/** Marks every SandboxerError, whichever copy of this module made it (see Symbol.hasInstance). */
const BRAND = Symbol.for('sand-boxer.error');

export class SandboxerError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  /**
   * `instanceof` that also knows errors made by another copy of this module: the CLI runs from a
   * bundle with its own copy, while a user's extension handler imports the installed package. Such
   * an error carries the global brand, and a subclass is matched by its name.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class asked about, a subclass too
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null || !(BRAND in value)) return false;
    for (
      let proto = Object.getPrototypeOf(value);
      proto && proto !== Error.prototype;
      proto = Object.getPrototypeOf(proto)
    ) {
      // biome-ignore lint/complexity/noThisInStatic: `this` is the class asked about, a subclass too
      if (proto.constructor?.name === this.name) return true;
    }
    return false;
  }

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    Object.defineProperty(this, BRAND, { value: true });
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  /** The JSON shape used by `--json` output and (later) the HTTP API. */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** A declaration file (extension, profile, hosts) is malformed or refers to something unknown. */
export class ConfigError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('CONFIG_INVALID', message, details, options);
  }
}

/** A user-supplied value (CLI flag, sandbox input, TTL) is missing or malformed. */
export class InputError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('INPUT_INVALID', message, details, options);
  }
}

/** A sandbox, profile or extension that was asked for does not exist. */
export class NotFoundError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('NOT_FOUND', message, details);
  }
}

/** Provisioning or waiting for readiness failed; the sandbox was rolled back. */
export class ProvisionError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('PROVISION_FAILED', message, details, options);
  }
}

/** Teardown could not remove everything; `details.leftovers` says what remains. */
export class TeardownError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('TEARDOWN_FAILED', message, details, options);
  }
}

/** The operation does not fit the sandbox's current state (e.g. another process holds it). */
export class StateConflictError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('STATE_CONFLICT', message, details);
  }
}

/** A state file exists but cannot be read back; names the file so it can be inspected or removed. */
export class StateCorruptError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('STATE_CORRUPT', message, details, options);
  }
}

/**
 * A server refused the caller: no or a wrong credential (UNAUTHORIZED), or one that does not allow
 * this (FORBIDDEN: a member granting credits, spending from another account).
 */
export class AuthError extends SandboxerError {
  constructor(code: 'UNAUTHORIZED' | 'FORBIDDEN', message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

/**
 * The shared state store (the database) cannot be reached or is restarting: nothing was decided,
 * so the same request can be sent again once it is back.
 */
export class StateUnavailableError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('STATE_UNAVAILABLE', message, details, options);
  }
}

/** The operation was cancelled (signal or abort) and rolled back as far as it could. */
export class InterruptedError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('INTERRUPTED', message, details);
  }
}

/**
 * An SSH connection could not be opened (unreachable, refused, wrong key, host key mismatch) or
 * broke. `phase: 'connect'` means nothing ran on the host, so there is nothing to roll back there.
 */
export class SshError extends SandboxerError {
  readonly phase: 'connect' | 'session';
  constructor(
    message: string,
    phase: 'connect' | 'session',
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super('SSH_FAILED', message, { ...details, phase }, options);
    this.phase = phase;
  }
}

/** A command on a remote host exited non-zero or timed out; the message carries its stderr tail. */
export class RemoteCommandError extends SandboxerError {
  readonly exitCode: number | null;
  constructor(message: string, exitCode: number | null, details: Record<string, unknown> = {}) {
    super('REMOTE_COMMAND_FAILED', message, { ...details, exit_code: exitCode });
    this.exitCode = exitCode;
  }
}

/** The account cannot afford the hold a create needs; details carry balance, estimate and alternatives. */
export class InsufficientCreditsError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown>) {
    super('INSUFFICIENT_CREDITS', message, details);
  }
}

/** No routing candidate of a profile is feasible; details carry every candidate and why it was rejected. */
export class NoBackendAvailableError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown>) {
    super('NO_BACKEND_AVAILABLE', message, details);
  }
}

/** The extension lacks a capability the operation needs (e.g. snapshots); says which and where it is declared. */
export class UnsupportedError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('UNSUPPORTED', message, details);
  }
}

/** Capturing or restoring a snapshot failed; services were resumed and nothing half-made was kept. */
export class SnapshotError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super('SNAPSHOT_FAILED', message, details, options);
  }
}

/** A snapshot artifact does not match its recorded sha256; it was refused before anything was touched. */
export class SnapshotCorruptError extends SandboxerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('SNAPSHOT_CORRUPT', message, details);
  }
}

/** Reads a message from anything thrown, for wrapping third-party errors. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Core errors name what is at fault in the request's own words: a field (`details.field`: `ttl`,
 * `host`, `name`, …, and the message starts with it) or sandbox inputs (`details.inputs`). Each
 * surface says how to set those in its own terms — the CLI `--ttl` and `--input repo=…`, the HTTP
 * API `"ttl"` in the body, the action its `ttl` input — through one of these.
 */
export interface SurfaceTerms {
  /** How this surface names a request field (`--ttl`, `"ttl" in the request body`), or undefined. */
  field(name: string): string | undefined;
  /** How to give these sandbox inputs here: `pass --input repo=<value>`. */
  inputs(names: string[]): string;
  /** A remedy from the error's code and details (e.g. the command that retries), if any. */
  remedy?(error: SandboxerError): string | undefined;
}

/** The error's message in a surface's terms: its field named the surface's way, and how to fix it. */
export function inTermsOf(error: SandboxerError, terms: SurfaceTerms): string {
  let message = error.message;
  const { field, inputs } = error.details;
  const named = typeof field === 'string' ? terms.field(field) : undefined;
  if (named !== undefined && typeof field === 'string') {
    const lead = new RegExp(`^${field}(?=[: ])`);
    message = lead.test(message) ? message.replace(lead, named) : `${message} (see ${named})`;
  }
  if (Array.isArray(inputs) && inputs.length > 0) message += ` (${terms.inputs(inputs.map(String))})`;
  const remedy = terms.remedy?.(error);
  return remedy ? `${message} (${remedy})` : message;
}
