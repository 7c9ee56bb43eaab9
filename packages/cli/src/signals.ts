/**
 * Calls `onFirst` on the first SIGINT/SIGTERM so the running operation can roll back; a second
 * signal exits at once (130) and leaves what remains to `sandboxer gc`.
 */
export function onInterrupt(onFirst: () => void): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      process.stderr.write(`sandboxer: ${signal} received, rolling back (send it again to exit at once)\n`);
      onFirst();
    } else {
      process.stderr.write(
        `sandboxer: ${signal} again, exiting now; what was made is left to \`sandboxer gc\` (or the host-side switch at its expiry)\n`,
      );
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/**
 * For commands that run until stopped (exec, logs --follow): the first SIGINT/SIGTERM aborts the
 * returned signal, so the command can stop what runs remotely; `release` removes the handlers.
 */
export function abortOnInterrupt(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
