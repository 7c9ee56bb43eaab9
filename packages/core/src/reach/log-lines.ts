/**
 * Service logs as people read them: whole lines, each prefixed with its service (`web | …`),
 * however the chunks were cut. Used by `sandboxer logs` and the HTTP logs route.
 */
export interface LogLines {
  /** Takes a chunk of a service's log; hands on every complete line. */
  write(service: string, text: string): void;
  /** Hands on what is left of each service's last line (at the end of a tail, or of a stream). */
  flush(): void;
}

export function logLines(emit: (line: string) => void): LogLines {
  const partial = new Map<string, string>();
  return {
    write(service, text) {
      const lines = ((partial.get(service) ?? '') + text).split('\n');
      partial.set(service, lines.pop() ?? '');
      for (const line of lines) emit(`${service} | ${line}\n`);
    },
    flush() {
      for (const [service, rest] of partial) if (rest) emit(`${service} | ${rest}\n`);
      partial.clear();
    },
  };
}
