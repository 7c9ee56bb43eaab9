import { posix } from 'node:path';
import { InputError } from '../../../errors.js';
import { and, assertAbsoluteRemotePath, command, quote, remotePathInside } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import { layerDirOf } from '../../../sync/host-cache.js';
import { isSandboxId } from '../../../util/ids.js';

/**
 * The per-sandbox directory `<base>/sbx-<id>/` of SSH-based extensions: created with a marker file
 * (and the expiry switch armed in the same round trip), removed only if the marker says it is ours.
 */

/** Written into every sandbox directory at creation; teardown deletes only directories that have it. */
export const MARKER_FILE = '.sandboxer-sandbox.json';

/** `~/x` is expanded with the login user's home on the host; the result must be absolute and normal. */
export async function resolveBaseDir(session: SshSession, configured: string, what: string): Promise<string> {
  let base = configured;
  if (configured === '~' || configured.startsWith('~/')) {
    const home = await session.home();
    if (!home.startsWith('/')) {
      throw new InputError(
        `${what} ${configured}: the login user's $HOME on the host is not an absolute path`,
      );
    }
    base = `${home}${configured.slice(1)}`;
  }
  assertAbsoluteRemotePath(base.replace(/\/+$/, '') || '/', what);
  return base.replace(/\/+$/, '');
}

export function sandboxDirOf(base: string, sandboxId: string): string {
  if (!isSandboxId(sandboxId))
    throw new InputError(`refusing unexpected sandbox id ${JSON.stringify(sandboxId)}`);
  return remotePathInside(base, `sbx-${sandboxId}`);
}

/** `mkdir` (not -p) fails if the directory exists: a sandbox never adopts an existing directory. */
export function createWorkspaceCommand(base: string, dir: string): string {
  return and(
    command('mkdir', '-p', '--', base),
    command('mkdir', '-m', '0750', '--', dir),
    `cat > ${quote(`${dir}/${MARKER_FILE}`)}`,
  );
}

export function markerContent(fields: Record<string, string>): string {
  return `${JSON.stringify({ managed_by: 'sand-boxer', ...fields })}\n`;
}

/** Where removed sandbox directories wait for their deletion in the background: `<base>/.sandboxer-trash/`. */
export function trashDirOf(base: string): string {
  return posix.join(base, '.sandboxer-trash');
}

/**
 * Removes the sandbox directory only if it is one we created: its marker names this sandbox id.
 * A directory whose marker never got written (e.g. the disk filled up) is removed only if it is
 * otherwise empty. Prints `removed`, `absent`, `foreign`, `rm-failed` or `trash-failed`.
 *
 * Deleting a big repo's copy takes seconds (tens of thousands of unlinks), so when every file in it
 * is the login user's (deletion can then only fail on a full-disk-like fault) the directory is
 * renamed into the trash — the sandbox is gone at once — and deleted there by a detached `rm`. If
 * that `rm` dies (a reboot), the next removal of the same id and `gc` (host-scan.ts) finish it.
 * Files owned by someone else (root, from a container) take the slow path, which can report them.
 */
export function removeWorkspaceCommand(dir: string, sandboxId: string): string {
  const marker = quote(`${dir}/${MARKER_FILE}`);
  const qdir = quote(dir);
  const trash = quote(trashDirOf(posix.dirname(dir)));
  const inTrash = `${trash}/${quote(posix.basename(dir))}`;
  const ours = `grep -qF ${quote(`"sandbox_id":"${sandboxId}"`)} ${marker} 2>/dev/null`;
  const allMine = `o=$(find ${qdir} '!' -user "$(id -u)" -print -quit 2>/dev/null) && [ -z "$o" ]`;
  const toTrash = `${allMine} && mkdir -p -- ${trash} && t=${inTrash}.$$ && mv -- ${qdir} "$t"`;
  // Owning every file is not always enough to delete it: a directory without u+w (a Go module cache)
  // needs a chmod first.
  const rmHard = (path: string) =>
    `{ rm -rf -- ${path} 2>/dev/null || { chmod -R u+rwx -- ${path} && rm -rf -- ${path}; }; }`;
  const deleteLater = `touch -- "$t"; (nohup setsid nice sh -c ${quote(rmHard('"$0"'))} "$t" </dev/null >/dev/null 2>&1 &)`;
  // Everything but the marker goes first, the marker last: if deleting stops half-way (files owned by
  // another user), the directory is still recognisably ours and a retry gives the same advice.
  const contents = `${command('find', dir, '-mindepth', '1', '-maxdepth', '1', '!', '-name', MARKER_FILE, '-exec', 'rm', '-rf', '--', '{}', '+')}`;
  const onlyMarkerLeft = `[ -z "$(${command('ls', '-A', '--', dir)} | grep -vxF ${quote(MARKER_FILE)})" ]`;
  // Filled as an overlay layer (sync/host-cache.ts): unmounted first (a mount point cannot be moved),
  // which shows the directory as it was made, marker included; its layers go to the trash too.
  const layer = quote(layerDirOf(dir));
  const unmount = `if [ -d ${layer} ]; then { umount -- ${qdir} || umount -l -- ${qdir}; } 2>/dev/null; mkdir -p -- ${trash} && l=${trash}/layers-${quote(posix.basename(dir))}.$$ && mv -- ${layer} "$l" && (nohup setsid nice rm -rf -- "$l" </dev/null >/dev/null 2>&1 &); fi`;
  return [
    unmount,
    // Gone already; what an earlier removal left in the trash (its `rm` died) goes now.
    `if [ ! -e ${qdir} ]; then if ! ls -d -- ${inTrash}.* >/dev/null 2>&1; then echo absent; elif ${rmHard(`${inTrash}.*`)}; then echo absent; else echo trash-failed; fi`,
    `elif ${ours}; then if ${toTrash}; then ${deleteLater}; echo removed; elif ${contents} && rm -rf -- ${qdir}; then echo removed; else echo rm-failed; fi`,
    // No marker (or an empty one: the disk filled up): only an otherwise empty directory goes.
    `elif [ ! -s ${marker} ] && ${onlyMarkerLeft}; then rm -f -- ${marker}; rmdir -- ${qdir} && echo removed`,
    'else echo foreign; fi',
  ].join('; ');
}

/** Interprets removeWorkspaceCommand's answer into a cleanup report fragment. */
export function workspaceRemoval(output: string, dir: string, destination: string) {
  const answer = output.trim().split('\n').pop();
  if (answer === 'removed') return { removed: [`directory ${dir}`], leftovers: [], existed: true };
  if (answer === 'absent') return { removed: [], leftovers: [], existed: false };
  if (answer === 'trash-failed') {
    const trash = trashDirOf(posix.dirname(dir));
    const trashed = `${trash}/${posix.basename(dir)}.*`;
    return {
      removed: [],
      leftovers: [
        `directory ${trashed} on ${destination} (this sandbox's, removed earlier and waiting for deletion) could not be deleted; remove it with: sudo rm -rf ${quote(trash)}/${quote(posix.basename(dir))}.*`,
      ],
      existed: true,
    };
  }
  if (answer === 'rm-failed') {
    return {
      removed: [],
      leftovers: [
        `directory ${dir} on ${destination} could not be deleted completely (files owned by another user, e.g. root from a container?); remove it with: sudo rm -rf ${quote(dir)}`,
      ],
      existed: true,
    };
  }
  return {
    removed: [],
    leftovers: [
      `directory ${dir} on ${destination} is not marked as this sandbox's (its ${MARKER_FILE} is missing or names another sandbox); not deleted — inspect and remove it by hand`,
    ],
    existed: true,
  };
}

/**
 * Creates `<base>/sbx-<id>/` with its marker (the marker's fields say whose it is and until when),
 * then arms the expiry switch (`armCommand`, see expiry-switch.ts) in the same round trip: from the
 * moment there is something to remove, it goes at its expiry even if this process dies.
 */
export async function createWorkspace(
  session: SshSession,
  base: string,
  dir: string,
  marker: Record<string, string>,
  armCommand: string,
): Promise<void> {
  await session.run(and(createWorkspaceCommand(base, dir), armCommand), {
    stdin: markerContent(marker),
    what: 'creating the sandbox directory and arming its expiry switch',
  });
}

/** Removes the sandbox directory if it is ours (see removeWorkspaceCommand), as a report fragment. */
export async function removeWorkspace(session: SshSession, dir: string, sandboxId: string) {
  const answer = await session.run(removeWorkspaceCommand(dir, sandboxId), {
    what: 'removing the sandbox directory',
  });
  return workspaceRemoval(answer, dir, session.destination);
}
