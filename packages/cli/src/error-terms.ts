import type { SandboxerError, SurfaceTerms } from '@sand-boxer/core/errors';

/** Request fields by the flags (or variables) that set them on the command line. */
const FLAGS: Record<string, string> = {
  ttl: '--ttl',
  host: '--host',
  name: '--name',
  mode: '--in-place',
  hosts_file: '--hosts-file',
  config_dir: '--config-dir',
  ssh_key: '--identity-file (or the key text in SANDBOXER_SSH_KEY)',
  host_key: '--known-hosts or --host-fingerprint (or, knowingly, --insecure-ignore-host-key)',
  initial_credits: 'SANDBOXER_INITIAL_CREDITS',
  wait_for: '--wait-for',
  local: '--local',
  service: '--service',
  since: '--since',
};

/** What a command-line user is told to do about a typed error: its flags, and the command that helps. */
export const cliTerms: SurfaceTerms = {
  field: (name) => FLAGS[name],
  inputs: (names) => `pass ${names.map((n) => `--input ${n}=<value>`).join(' or ')}`,
  remedy(error: SandboxerError) {
    const { sandbox, snapshot, account } = error.details;
    if (error.code === 'NOT_FOUND' && typeof snapshot === 'string')
      return 'see `sandboxer snapshot list --all`';
    if (error.code === 'NOT_FOUND' && typeof sandbox === 'string') return 'see `sandboxer list --all`';
    if (error.code === 'NOT_FOUND' && error.details.field === 'profile') return 'see `sandboxer profiles`';
    if (error.details.field === 'sandbox') return 'see `sandboxer list --all`';
    if (error.code === 'PROVISION_FAILED' && typeof sandbox === 'string')
      return `see \`sandboxer status ${sandbox}\``;
    if (error.code === 'TEARDOWN_FAILED' && typeof sandbox === 'string') {
      return `\`sandboxer destroy ${sandbox}\` retries`;
    }
    if (error.code === 'INSUFFICIENT_CREDITS' && typeof account === 'string') {
      return `sandboxer credits grant ${JSON.stringify(account)} <amount>`;
    }
    return undefined;
  },
};
