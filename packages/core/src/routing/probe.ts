import { connect } from 'node:net';
import type { RemoteHost } from '../records/host-target.js';

/** Undefined when the host's SSH port accepts a TCP connection within 3 s, else why not. */
export function probeSsh(host: RemoteHost, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: host.ssh.address, port: host.ssh.port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () =>
      done(`${host.ssh.address}:${host.ssh.port} did not answer in ${timeoutMs / 1000} s`),
    );
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(
        `${host.ssh.address}:${host.ssh.port}: ${error.code === 'ECONNREFUSED' ? 'connection refused' : error.message}`,
      ),
    );
  });
}
