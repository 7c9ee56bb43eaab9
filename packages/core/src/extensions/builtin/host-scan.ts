import { command, quote } from '../../ssh/quote.js';
import { isSandboxId } from '../../util/ids.js';
import type { HostFinding } from '../contract.js';
import { switchDirOf } from './expiry-switch.js';
import { MARKER_FILE } from './remote-workspace.js';

/**
 * What `gc` sees on a host, whatever any state store says: `sbx-*` directories (with their marker),
 * armed expiry switches and, where there is a container engine, everything labelled by sand-boxer.
 * One remote command prints one line per thing found; parseFindings groups them by sandbox.
 */
export function findSandboxesCommand(base: string, engine: 'docker' | 'podman' | undefined): string {
  const marker = `"$d"/${quote(MARKER_FILE)}`;
  const parts = [
    `for d in ${quote(base)}/sbx-*; do [ -d "$d" ] || continue; printf 'dir %s %s\\n' "\${d##*/}" "$(head -c 4000 ${marker} 2>/dev/null | tr -d '\\n')"; done`,
    `for f in ${quote(switchDirOf(base))}/*.expires; do [ -f "$f" ] || continue; n=\${f##*/}; printf 'switch %s %s\\n' "\${n%.expires}" "$(head -c 20 "$f" | tr -d '\\n')"; done`,
  ];
  if (engine) {
    const format = '{{.ID}} {{.Label "dev.sandboxer.sandbox-id"}} {{.Label "dev.sandboxer.expires-at"}}';
    const filter = ['--filter', 'label=dev.sandboxer.managed=true'];
    const list = (kind: string, ...args: string[]) =>
      `${command(engine, ...args, ...filter, '--format', format)} 2>/dev/null | sed 's/^/${kind} /'`;
    parts.push(
      list('container', 'ps', '-a'),
      list('network', 'network', 'ls'),
      list('volume', 'volume', 'ls'),
    );
  }
  parts.push('true');
  return parts.join('; ');
}

/** Groups the scan's lines by sandbox id; the host's own view of the expiry wins (switch, then marker, then labels). */
export function parseFindings(output: string, base: string): HostFinding[] {
  const found = new Map<
    string,
    { resources: string[]; switchAt?: string; markerAt?: string; labelAt?: string }
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
    } else if (kind === 'switch' && isSandboxId(first)) {
      const e = entry(first);
      e.resources.push('expiry switch');
      if (/^\d+$/.test(tail)) e.switchAt = new Date(Number(tail) * 1000).toISOString();
    } else if ((kind === 'container' || kind === 'network' || kind === 'volume') && first) {
      const [id = '', expires] = rest;
      if (!isSandboxId(id)) continue;
      const e = entry(id);
      e.resources.push(`${kind} ${first.slice(0, 12)}`);
      if (expires) e.labelAt = expires;
    }
  }
  return [...found.entries()].map(([sandbox_id, e]) => {
    const expires = e.switchAt ?? e.markerAt ?? e.labelAt;
    return { sandbox_id, resources: e.resources, ...(expires ? { expires_at: expires } : {}) };
  });
}
