import { command, quote } from '../../../ssh/quote.js';
import { isSandboxId } from '../../../util/ids.js';
import type { HostFinding } from '../../contract.js';
import { switchDirOf } from './expiry-switch.js';
import { MARKER_FILE, trashDirOf } from './workspace.js';

/**
 * What `gc` sees on a host, whatever any state store says: `sbx-*` directories (with their marker),
 * armed expiry switches and, where there is a container engine, everything labelled by sand-boxer.
 * One remote command prints one line per thing found; parseFindings groups them by sandbox.
 */
export function findSandboxesCommand(
  base: string,
  engine: 'docker' | 'podman' | Array<'docker' | 'podman'> | undefined,
): string {
  const marker = `"$d"/${quote(MARKER_FILE)}`;
  // Only names made of [a-z0-9-] (and `.` for switch files): a name with a space or a newline in it
  // must not be able to forge a line for another sandbox.
  const parts = [
    `for d in ${quote(base)}/sbx-*; do n=\${d##*/}; case "$n" in *[!a-z0-9-]*) continue;; esac; [ -d "$d" ] || continue; printf 'dir %s %s\\n' "$n" "$(head -c 4000 ${marker} 2>/dev/null | tr -d '\\n')"; done`,
    // Removed directories whose background deletion died (older than 5 minutes: a fresh one is
    // still being deleted); their expiry is when they were removed, so gc finishes them.
    `for t in ${quote(trashDirOf(base))}/sbx-*; do n=\${t##*/}; case "$n" in *[!a-z0-9.-]*) continue;; esac; [ -d "$t" ] || continue; [ -n "$(find "$t" -maxdepth 0 -mmin +5 2>/dev/null)" ] || continue; printf 'trash %s %s\\n' "$n" "$(stat -c %Y "$t" 2>/dev/null)"; done`,
    `for f in ${quote(switchDirOf(base))}/*.expires; do n=\${f##*/}; case "$n" in *[!a-z0-9.]*) continue;; esac; [ -f "$f" ] || continue; printf 'switch %s %s\\n' "\${n%.expires}" "$(head -c 20 "$f" | tr -d '\\n')"; done`,
    // Leases: their length and last renewal, so a lapsed one counts as expired even when no sleeper
    // runs to enforce it (the host rebooted).
    `for f in ${quote(switchDirOf(base))}/*.lease; do n=\${f##*/}; case "$n" in *[!a-z0-9.]*) continue;; esac; [ -f "$f" ] || continue; printf 'lease %s %s %s\\n' "\${n%.lease}" "$(head -c 20 "$f" | tr -d '\\n')" "$(stat -c %Y "$f" 2>/dev/null)"; done`,
  ];
  for (const e of engine === undefined ? [] : Array.isArray(engine) ? engine : [engine]) {
    // Podman's listings have no `.Label` method (a template error, hidden by 2>/dev/null, would hide
    // everything): its labels are a map, under `.Network` for networks.
    const label = (kind: string, key: string) =>
      e === 'docker'
        ? `{{.Label "${key}"}}`
        : `{{index ${kind === 'network' ? '.Network.Labels' : '.Labels'} "${key}"}}`;
    const labels = (kind: string) =>
      `${label(kind, 'dev.sandboxer.sandbox-id')} ${label(kind, 'dev.sandboxer.expires-at')}`;
    const filter = ['--filter', 'label=dev.sandboxer.managed=true'];
    // Volumes have a .Name but no .ID: a template error there would hide every volume.
    const list = (kind: string, key: string, ...args: string[]) =>
      `${command(e, ...args, ...filter, '--format', `${key} ${labels(kind)}`)} 2>/dev/null | sed 's/^/${kind} /'`;
    parts.push(
      list('container', '{{.ID}}', 'ps', '-a'),
      list('network', '{{.ID}}', 'network', 'ls'),
      list('volume', '{{.Name}}', 'volume', 'ls'),
      // Images Compose built carry no labels, only the project's name (see sweepBuiltImagesCommand).
      `${command(e, 'images', '--format', '{{.Repository}}:{{.Tag}}')} 2>/dev/null | sed -n 's#^\\(localhost/\\)\\{0,1\\}\\(sbx-[a-z0-9]\\{12\\}\\)[-_].*#image & \\2#p'`,
    );
  }
  parts.push('true');
  return parts.join('; ');
}

/**
 * Groups the scan's lines by sandbox id; the host's own view of the expiry wins (switch, then marker,
 * then labels), or the end of its lease when that comes first.
 */
export function parseFindings(output: string, base: string): HostFinding[] {
  const found = new Map<
    string,
    {
      resources: string[];
      switchAt?: string;
      markerAt?: string;
      labelAt?: string;
      trashedAt?: string;
      /** When its lease lapses (or lapsed): its last renewal plus its length. */
      leaseAt?: string;
    }
  >();
  const entry = (id: string) => {
    let e = found.get(id);
    if (!e) {
      e = { resources: [] };
      found.set(id, e);
    }
    return e;
  };
  for (const line of output.split('\n')) {
    const [kind, first = '', ...rest] = line.trim().split(' ');
    const tail = rest.join(' ');
    if (kind === 'dir') {
      const id = first.replace(/^sbx-/, '');
      if (!isSandboxId(id)) continue;
      const e = entry(id);
      e.resources.push(`directory ${base}/${first}`);
      try {
        const marker = JSON.parse(tail) as Record<string, string>;
        e.markerAt = marker['dev.sandboxer.expires-at'] ?? marker.expires_at;
      } catch {
        // No marker or a torn one: the directory is still reported; removal checks the marker itself.
      }
    } else if (kind === 'trash') {
      const id = first.replace(/^sbx-/, '').replace(/\.\d+$/, '');
      if (!isSandboxId(id)) continue;
      const e = entry(id);
      e.resources.push(`directory ${trashDirOf(base)}/${first} (removed, deletion unfinished)`);
      if (/^\d+$/.test(tail)) e.trashedAt = new Date(Number(tail) * 1000).toISOString();
    } else if (kind === 'switch' && isSandboxId(first)) {
      const e = entry(first);
      e.resources.push('expiry switch');
      if (/^\d+$/.test(tail)) e.switchAt = new Date(Number(tail) * 1000).toISOString();
    } else if (kind === 'lease' && isSandboxId(first)) {
      const [seconds = '', renewed = ''] = rest;
      if (/^\d+$/.test(seconds) && /^\d+$/.test(renewed)) {
        entry(first).leaseAt = new Date((Number(renewed) + Number(seconds)) * 1000).toISOString();
      }
    } else if (kind === 'image' && first && /^sbx-/.test(rest[0] ?? '')) {
      const id = (rest[0] ?? '').slice(4);
      if (isSandboxId(id)) entry(id).resources.push(`image ${first}`);
    } else if ((kind === 'container' || kind === 'network' || kind === 'volume') && first) {
      const [id = '', expires] = rest;
      if (!isSandboxId(id)) continue;
      const e = entry(id);
      e.resources.push(`${kind} ${kind === 'volume' ? first : first.slice(0, 12)}`);
      if (expires) e.labelAt = expires;
    }
  }
  return [...found.entries()].map(([sandbox_id, e]) => {
    const hostView = e.switchAt ?? e.markerAt ?? e.labelAt ?? e.trashedAt;
    // A lapsed lease ends the sandbox before its expiry: whichever comes first.
    const expires =
      e.leaseAt !== undefined && (hostView === undefined || Date.parse(e.leaseAt) < Date.parse(hostView))
        ? e.leaseAt
        : hostView;
    return { sandbox_id, resources: e.resources, ...(expires ? { expires_at: expires } : {}) };
  });
}
