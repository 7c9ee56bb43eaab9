import { inTermsOf, messageOf, SandboxerError, type SurfaceTerms } from '@sand-boxer/core';

/** Request fields by the action inputs that set them (action.yml). */
const INPUTS: Record<string, string> = {
  ttl: 'the `ttl` input',
  host: 'the `host` input',
  profile: 'the `profile` input',
  ssh_key: 'the `ssh-key` input',
  host_key: 'the `known-hosts` or `host-fingerprint` input',
  hosts_file: '.sandboxer/hosts.yaml in the repository',
  config_dir: '.sandboxer/ in the repository',
};

/** How a workflow author sets what a typed error names: the action's own inputs. */
const actionTerms: SurfaceTerms = {
  field: (name) => INPUTS[name],
  inputs: (names) => `add ${names.map((n) => `${n}=<value>`).join(' or ')} to the \`inputs\` input`,
  // A runner has no `sandboxer status`: say where the job itself shows more.
  remedy(error) {
    if (
      error.code === 'PROVISION_FAILED' ||
      error.code === 'SSH_FAILED' ||
      error.code === 'REMOTE_COMMAND_FAILED'
    ) {
      return "the post step writes the sandbox's record to the job summary and prints each service's log (input `logs`, default on-failure)";
    }
    return undefined;
  },
};

/** An error's message as the action reports it (`core.setFailed`). */
export function actionMessage(error: unknown): string {
  return error instanceof SandboxerError ? inTermsOf(error, actionTerms) : messageOf(error);
}
