import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  createWorkspaceCommand,
  MARKER_FILE,
  markerContent,
  removeWorkspaceCommand,
  resolveBaseDir,
  sandboxDirOf,
} from '../../src/extensions/builtin/remote-workspace/workspace.js';
import type { SshSession } from '../../src/ssh/session.js';
import { isSandboxId, newSandboxId, parseSandboxId } from '../../src/util/ids.js';
import {
  batchOf,
  expectTypedError,
  fcOptions,
  hostileFileName,
  hostileString,
  pwnedFiles,
  removeScratch,
  shellWithStandIns,
  thrown,
} from './support.js';

afterAll(removeScratch);
/**
 * Sandbox ids, base directories and the per-sandbox workspace: the directory is always
 * `<base>/sbx-<id>`, and the create/remove scripts, run for real under a temporary root with hostile
 * base names, create and delete exactly that directory and nothing else.
 */

const ID = /^[a-z0-9]{12}$/;
const sandboxId = fc.stringMatching(ID);
const hasControl = (text: string) =>
  [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** Strings shaped like ids and not quite: wrong length, upper case, prefixes, hostile characters. */
const idLike = fc.oneof(
  sandboxId,
  sandboxId.map((id) => `sbx-${id}`),
  fc.stringMatching(/^[a-zA-Z0-9-]{0,14}$/),
  sandboxId.chain((id) => hostileString(3).map((h) => `${id.slice(0, 6)}${h}${id.slice(6)}`)),
  hostileString(14),
);

describe('sandbox ids', () => {
  test('newSandboxId always gives a valid id', () => {
    for (let i = 0; i < 2000; i++) expect(newSandboxId()).toMatch(ID);
  });

  test('parseSandboxId: the id (with or without sbx-), or an InputError quoting the text', () => {
    fc.assert(
      fc.property(idLike, (text) => {
        let id: string | undefined;
        const error = thrown(() => {
          id = parseSandboxId(text);
        });
        const bare = text.startsWith('sbx-') ? text.slice(4) : text;
        if (ID.test(bare)) {
          expect(id).toBe(bare);
          expect(isSandboxId(bare)).toBe(true);
        } else {
          expectTypedError(error, InputError, `"${text}"`);
          expect((error as InputError).details).toEqual({ field: 'sandbox', input: text });
          expect(isSandboxId(text)).toBe(false);
        }
      }),
      fcOptions(),
    );
  });
});

/** Absolute, normalised bases (what resolveBaseDir hands over) of hostile, control-free names. */
const baseSegments = fc.array(
  hostileFileName().filter((s) => !hasControl(s)),
  { minLength: 1, maxLength: 3 },
);

describe('sandboxDirOf', () => {
  test('a valid id gives <base>/sbx-<id>, inside the base; anything else is refused, naming it', () => {
    fc.assert(
      fc.property(baseSegments, idLike, (segments, id) => {
        const base = `/${segments.join('/')}`;
        let dir: string | undefined;
        const error = thrown(() => {
          dir = sandboxDirOf(base, id);
        });
        if (!ID.test(id)) {
          expectTypedError(error, InputError, JSON.stringify(id));
          return;
        }
        expect(dir).toBe(`${base}/sbx-${id}`);
        expect(posix.relative(base, dir as string)).toBe(`sbx-${id}`);
      }),
      fcOptions(),
    );
  });

  test('a base that is not absolute and normal is refused, naming it', () => {
    const base = fc.oneof(
      hostileString(16),
      baseSegments.map((s) => s.join('/')),
      fc
        .array(fc.constantFrom('', '.', '..', 'a', '/', '\n'), { maxLength: 5 })
        .map((xs) => `/${xs.join('/')}`),
    );
    fc.assert(
      fc.property(base, sandboxId, (b, id) => {
        const error = thrown(() => sandboxDirOf(b, id));
        const normal = b.startsWith('/') && b !== '/' && posix.normalize(b) === b && !hasControl(b);
        if (normal) {
          expect(error).toBeUndefined();
          expect(sandboxDirOf(b, id)).toBe(posix.join(b, `sbx-${id}`));
        } else {
          expectTypedError(error, InputError, JSON.stringify(b));
        }
      }),
      fcOptions(),
    );
  });
});

describe('resolveBaseDir', () => {
  /** The one thing resolveBaseDir asks the session: the login user's $HOME. */
  const sessionWithHome = (home: string) => ({ home: async () => home }) as unknown as SshSession;
  const pathish = fc.oneof(
    hostileString(16),
    fc
      .array(fc.constantFrom('', '.', '..', 'srv', 'a b', "it's", '~', '\n'), { maxLength: 5 })
      .map((xs) => xs.join('/')),
    fc
      .array(fc.constantFrom('', '.', '..', 'srv', 'a b', "it's", '\n'), { maxLength: 5 })
      .map((xs) => `~/${xs.join('/')}`),
  );
  const home = fc.oneof(
    fc.constantFrom('/home/sbx', '/', '/home/sbx/', 'relative', '', '/home/a b'),
    pathish,
  );

  test('an absolute, normal directory without trailing slashes, or an InputError naming what it is', async () => {
    await fc.assert(
      fc.asyncProperty(pathish, home, async (configured, h) => {
        let base: string | undefined;
        let error: unknown;
        try {
          base = await resolveBaseDir(sessionWithHome(h), configured, 'base_dir');
        } catch (e) {
          error = e;
        }
        if (error !== undefined) {
          expectTypedError(error, InputError, 'base_dir');
          return;
        }
        const b = base as string;
        const expanded =
          configured === '~' || configured.startsWith('~/') ? `${h}${configured.slice(1)}` : configured;
        expect(b).toBe(expanded.replace(/\/+$/, ''));
        expect(b.startsWith('/')).toBe(true);
        expect(b).not.toBe('/');
        expect(posix.normalize(b)).toBe(b);
        expect(b.endsWith('/')).toBe(false);
        expect(hasControl(b)).toBe(false);
      }),
      fcOptions(),
    );
  });
});

describe('the workspace scripts, run for real', () => {
  const shell = shellWithStandIns([]);
  const root = join(shell.root, 'hosts');
  mkdirSync(root);

  test('create makes exactly <base>/sbx-<id> with its marker; remove deletes exactly it, once', () => {
    fc.assert(
      fc.property(batchOf(fc.tuple(baseSegments, sandboxId)), (cases) => {
        // Distinct sandboxes only: two cases with one base and id would be one directory.
        const unique = [...new Map(cases.map((c) => [`${c[0].join('/')}/${c[1]}`, c])).values()];
        const made = unique.map(([segments, id]) => {
          const base = join(root, ...segments);
          return { base, id, dir: sandboxDirOf(base, id) };
        });
        // All creates in one sh: each reads its marker from a here-document, as it would from stdin.
        const creates = made.map(
          ({ base, id, dir }) =>
            `${createWorkspaceCommand(base, dir)} <<'SBX_EOF'\n${markerContent({ sandbox_id: id })}SBX_EOF`,
        );
        const created = shell.run(creates.join('\n'));
        expect(created.status, created.stderr).toBe(0);
        for (const { id, dir } of made) {
          expect(JSON.parse(readFileSync(join(dir, MARKER_FILE), 'utf8')).sandbox_id).toBe(id);
          writeFileSync(join(dir, 'repo-file'), 'synced\n');
        }
        // A second create never adopts an existing directory.
        const again = made.map(
          ({ base, dir }) =>
            `if ${createWorkspaceCommand(base, dir)} </dev/null 2>/dev/null; then echo adopted; else echo refused; fi`,
        );
        expect(shell.run(again.join('\n')).stdout.trim().split('\n')).toEqual(made.map(() => 'refused'));
        const script = made.map(({ dir, id }) => removeWorkspaceCommand(dir, id)).join('\n');
        const removed = shell.run(script);
        expect(removed.status, removed.stderr).toBe(0);
        expect(removed.stdout.trim().split('\n')).toEqual(made.map(() => 'removed'));
        for (const { base, dir } of made) {
          expect(existsSync(dir)).toBe(false);
          expect(existsSync(base)).toBe(true);
        }
        expect(shell.run(script).stdout.trim().split('\n')).toEqual(made.map(() => 'absent'));
        expect(pwnedFiles(shell.root)).toEqual([]);
      }),
      fcOptions(15),
    );
  });

  test("remove leaves a directory that is not this sandbox's alone", () => {
    fc.assert(
      fc.property(batchOf(fc.tuple(baseSegments, sandboxId, sandboxId)), (cases) => {
        const dirs = cases
          .filter(([, id, other]) => id !== other)
          .map(([segments, id, other], i) => {
            const base = join(root, `foreign-${i}`, ...segments);
            const dir = sandboxDirOf(base, id);
            mkdirSync(dir, { recursive: true });
            // Another sandbox's marker, or a repo file and no marker at all.
            if (i % 2 === 0) writeFileSync(join(dir, MARKER_FILE), markerContent({ sandbox_id: other }));
            writeFileSync(join(dir, 'keep'), 'not ours\n');
            return { dir, id };
          });
        if (dirs.length === 0) return;
        const result = shell.run(dirs.map(({ dir, id }) => removeWorkspaceCommand(dir, id)).join('\n'));
        expect(result.stdout.trim().split('\n')).toEqual(dirs.map(() => 'foreign'));
        for (const { dir } of dirs) expect(readdirSync(dir)).toContain('keep');
      }),
      fcOptions(15),
    );
  });
});
