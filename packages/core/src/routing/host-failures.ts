import { messageOf, SshError } from '../errors.js';

/**
 * Whether a failed create failed because of the host rather than the user's stack: then it is rolled
 * back there and tried on the pool's next host. Host-level: the host cannot be reached or refuses
 * the key, its Docker engine does not answer, its disk is full, its compose runtime is missing, or
 * it is below a floor (min_free_disk / min_free_memory). Not host-level, so never retried elsewhere:
 * a host key that does not match (that stops everything: someone may be in the middle), and anything
 * the stack does (a compose file error, a service that exits, a readiness timeout).
 */
export function hostLevelFailure(error: unknown): string | undefined {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const message = messageOf(e);
    const floor = (e as { details?: { host_level?: unknown } }).details?.host_level;
    if (typeof floor === 'string') return message;
    if (e instanceof SshError && e.phase === 'connect') {
      if (/host key|fingerprint/i.test(message)) return undefined;
      if (/passphrase|not a usable private key|no SSH key/i.test(message)) return undefined;
      return message;
    }
    if (
      /Cannot connect to the Docker daemon|Is the docker daemon running|docker\.sock: connect|error during connect/i.test(
        message,
      )
    ) {
      return 'the Docker engine does not answer';
    }
    if (/No space left on device|Disk quota exceeded/i.test(message)) return 'the disk is full';
    if (
      /(docker-compose|podman-compose|podman|docker): (command )?not found|is not a docker command|unknown (shorthand flag|command).*compose/i.test(
        message,
      )
    ) {
      return `the compose runtime is missing (${firstLine(message)})`;
    }
  }
  return undefined;
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
