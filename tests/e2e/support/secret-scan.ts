import { closeSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Looks for secrets in files: exact strings (tokens, whole keys), any distinctive 40-character slice
 * of a private key's base64 body (a partial or re-wrapped leak), and any PEM/OpenSSH private key
 * header at all.
 */

export interface Secret {
  /** Shown in findings instead of the secret itself. */
  label: string;
  /** Exact strings; a file containing any of them leaks the secret. */
  needles: string[];
  /** 40-character slices of a key body; a file containing any of them leaks part of the key. */
  slices: Set<string>;
}

export interface Finding {
  file: string;
  label: string;
  offset: number;
}

export interface ScanResult {
  files: number;
  bytes: number;
  findings: Finding[];
}

export const SLICE = 40;
/** A file is read up to this many bytes; the rest of a larger one is reported, not skipped silently. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const PRIVATE_KEY_HEADER = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const BASE64_RUN = /[A-Za-z0-9+/=]{40,}/g;

/** The base64 body lines of a PEM or OpenSSH private key (between its BEGIN and END lines). */
export function keyBodyLines(keyText: string): string[] {
  return keyText
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('-----'));
}

function slicesOf(lines: string[]): Set<string> {
  const slices = new Set<string>();
  for (const line of lines) {
    for (let i = 0; i + SLICE <= line.length; i++) slices.add(line.slice(i, i + SLICE));
  }
  return slices;
}

/**
 * Base64 of `bytes` at each of the three alignments it can have inside a larger encoded blob, less
 * the characters at either end that also encode bits of the neighbouring bytes.
 */
function alignedEncodings(bytes: Buffer): string[] {
  return [0, 1, 2].map((pad) =>
    Buffer.concat([Buffer.alloc(pad), bytes])
      .toString('base64')
      .slice(pad === 0 ? 0 : pad + 1, -2),
  );
}

/**
 * A private key as a Secret. Its slices leave out what is not secret: slices every other given key
 * shares (the fixed `openssh-key-v1`/`ssh-ed25519` framing), the embedded public key (in any
 * alignment), and slices with few distinct characters (runs of `A`).
 */
export function privateKeySecret(
  label: string,
  keyText: string,
  others: { keyTexts?: string[]; publicKeys?: string[] } = {},
): Secret {
  const common = new Set<string>();
  for (const other of others.keyTexts ?? []) for (const s of slicesOf(keyBodyLines(other))) common.add(s);
  const publicBlobs = (others.publicKeys ?? []).flatMap((line) => {
    const blob = line.trim().split(/\s+/)[1];
    return blob ? alignedEncodings(Buffer.from(blob, 'base64')) : [];
  });
  const slices = new Set<string>();
  for (const s of slicesOf(keyBodyLines(keyText))) {
    if (common.has(s) || new Set(s).size < 16 || publicBlobs.some((p) => p.includes(s))) continue;
    slices.add(s);
  }
  // Whole body lines are needles too, but only those that hold something distinctive.
  const lines = keyBodyLines(keyText).filter((line) => [...slicesOf([line])].some((x) => slices.has(x)));
  return { label, needles: [keyText.trim(), ...lines], slices };
}

export function tokenSecret(label: string, token: string): Secret {
  return { label, needles: [token], slices: new Set() };
}

/** Every regular file under the roots (symlinks are not followed), except those under `exclude`. */
export function* filesUnder(roots: string[], exclude: string[] = []): Generator<string> {
  const excluded = (path: string) => exclude.some((e) => path === e || path.startsWith(`${e}/`));
  const stack = [...roots];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    if (excluded(path)) continue;
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(path);
      } catch {
        // A directory another user made and closed (a container's files): nothing the suite wrote.
        continue;
      }
      for (const name of names) stack.push(join(path, name));
    } else if (info.isFile()) {
      yield path;
    }
  }
}

function readHead(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(Math.min(lstatSync(path).size, MAX_FILE_BYTES));
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * `::add-mask::<value>` lines are how an action registers a secret with the GitHub runner, which
 * consumes them and never logs them: the action main step registers each line of its ssh-key input
 * so. Only those whole lines are blanked (offsets kept); the same value anywhere else is a leak.
 */
const ADD_MASK_LINE = /^::add-mask::.*$/gm;

/** Scans one text for the secrets and a private key header; offsets are character offsets. */
export function scanText(raw: string, secrets: Secret[]): Array<{ label: string; offset: number }> {
  const text = raw.replace(ADD_MASK_LINE, (line) => ' '.repeat(line.length));
  const found: Array<{ label: string; offset: number }> = [];
  const header = PRIVATE_KEY_HEADER.exec(text);
  if (header) found.push({ label: 'a private key header', offset: header.index });
  for (const secret of secrets) {
    for (const needle of secret.needles) {
      const at = text.indexOf(needle);
      if (at >= 0) {
        found.push({ label: secret.label, offset: at });
        break;
      }
    }
    if (secret.slices.size === 0) continue;
    // Only long base64 runs can hold a slice: check their windows, not every offset of the file.
    for (const run of text.matchAll(BASE64_RUN)) {
      const s = run[0];
      const hit = [...Array(s.length - SLICE + 1).keys()].find((i) =>
        secret.slices.has(s.slice(i, i + SLICE)),
      );
      if (hit !== undefined) {
        found.push({ label: `${secret.label} (a ${SLICE}-character slice)`, offset: run.index + hit });
        break;
      }
    }
  }
  return found;
}

/** Scans every file under the roots; a file that cannot be read counts as not scanned. */
export function scanFiles(roots: string[], secrets: Secret[], exclude: string[] = []): ScanResult {
  const result: ScanResult = { files: 0, bytes: 0, findings: [] };
  for (const file of filesUnder(roots, exclude)) {
    const content = readHead(file);
    if (!content) continue;
    result.files += 1;
    result.bytes += content.length;
    // latin1 maps every byte to one character, so nothing is lost to decoding; secrets are ASCII.
    for (const hit of scanText(content.toString('latin1'), secrets)) result.findings.push({ file, ...hit });
  }
  return result;
}
